import net from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TRUNCATED_HEAD_BYTES as KEPT_BYTES } from '../../src/inbox/postgres-inbox.ts';
import { frame, MllpDecoder, startMllpListener, type MllpListener } from '../../src/ingest/mllp/index.ts';
import { silentLogger } from '../../src/kernel/logger.ts';
import { startTestGateway, type TestGateway } from '../support/test-gateway.ts';

const CPH = 'county-peoples-hospital';
const DCVC = 'dongcun-village-clinic';
const CGCHC = 'chengguan-community-health-centre';
const LIMIT = 200_000;

const adt = (controlId: string) =>
  [
    `MSH|^~\\&|HIS|CPH|HIE|COUNTY|20261101083000||ADT^A01^ADT_A01|${controlId}|P|2.5.1`,
    'EVN|A01|20261101082500',
    `PID|1||MRN-${controlId}^^^CPH^MR||王^秀英||19491231|F`,
  ].join('\r');

/** An HL7 body over the limit: one real message followed by filler NTE segments. */
const oversizeHl7 = (controlId: string) =>
  adt(controlId) + '\r' + Array.from({ length: 3000 }, (_, i) => `NTE|${i}||${'x'.repeat(100)}`).join('\r');

describe.each(inject('pgServers').filter((s) => s.name === 'pg18-embedded'))(
  'bodies the gateway refuses before reading them, on $name',
  (server) => {
    let gw: TestGateway;
    const post = (
      path: string,
      body: RequestInit['body'],
      type: string,
      token: string,
      init: RequestInit = {},
    ) =>
      fetch(`${gw.publicUrl}${path}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': type },
        body,
        ...init,
      });
    const get = async (path: string, token: string): Promise<any> =>
      (await fetch(`${gw.publicUrl}${path}`, { headers: { Authorization: `Bearer ${token}` } })).json();

    beforeAll(async () => {
      gw = await startTestGateway(server, inject('redisUrl'), { HIE_MAX_BODY_BYTES: String(LIMIT) });
    });
    afterAll(async () => {
      await mllp?.close();
      await gw?.close();
    });
    let mllp: MllpListener | undefined;

    it('answers a body over HIE_MAX_BODY_BYTES with 413 and keeps its start as a failed message', async () => {
      const token = await gw.institutionToken(CPH);
      const body = oversizeHl7('BIG001');
      expect(Buffer.byteLength(body)).toBeGreaterThan(LIMIT);
      const res = await post('/ingest/hl7v2', body, 'application/hl7-v2', token);
      expect(res.status).toBe(413);
      const oo: any = await res.json();
      expect(oo.issue[0].code).toBe('too-costly');
      expect(oo.issue[0].diagnostics).toContain(`(${Buffer.byteLength(body)} bytes)`);
      expect(oo.issue[0].diagnostics).toContain('HIE_MAX_BODY_BYTES');
      const location = res.headers.get('location')!;
      expect(location).toMatch(/^\/ingest\/messages\/[0-9a-f-]{36}$/);
      expect(oo.issue[0].diagnostics).toContain(location.split('/').pop());

      const kept = await get(location, token);
      expect(kept).toMatchObject({ state: 'failed', format: 'hl7v2', institution: CPH });
      expect(kept.flags).toContain('truncated');
      expect(kept.outcome.issue[0].code).toBe('too-costly');
      expect(kept.raw).toBe(Buffer.from(body).subarray(0, KEPT_BYTES).toString());

      // The same body again is recognised as the same refused message, not a second row.
      const again = await post('/ingest/hl7v2', body, 'application/hl7-v2', token);
      expect(again.status).toBe(413);
      expect(again.headers.get('location')).toBe(location);

      // Only part of it was kept, so it cannot be replayed: it stays as it was.
      const replay = await fetch(`${gw.publicUrl}${location}/$replay`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}` },
      });
      expect(replay.status).toBe(422);
      const after = await get(location, token);
      expect(after.state).toBe('failed');
      expect(after.outcome.issue[0].code).toBe('too-costly');
      expect(after.updatedAt).toBe(kept.updatedAt);
    });

    it('keeps the start of a streamed (chunked) CSV over the limit under its feed', async () => {
      const token = await gw.institutionToken(DCVC);
      const rows = Array.from({ length: 8000 }, (_, i) => `V${i},DC${i},赵六,男,1956/03/12`);
      const text = '就诊编号,患者编号,姓名,性别,出生日期\n' + rows.join('\n');
      expect(Buffer.byteLength(text)).toBeGreaterThan(LIMIT);
      // No Content-Length: the limit is only found while reading.
      const stream = Readable.toWeb(Readable.from([Buffer.from(text)])) as ReadableStream;
      const res = await post('/ingest/csv/village-visits', stream, 'text/csv', token, {
        duplex: 'half',
      } as RequestInit);
      expect(res.status).toBe(413);
      const kept = await get(res.headers.get('location')!, token);
      expect(kept).toMatchObject({ state: 'failed', format: 'csv', feed: 'village-visits' });
      expect(kept.flags).toContain('truncated');
      expect(Buffer.byteLength(kept.raw)).toBeLessThanOrEqual(KEPT_BYTES);
      expect(kept.raw.startsWith('就诊编号,患者编号')).toBe(true);
    });

    it('answers an empty body with 400 and keeps it in the failed list', async () => {
      const token = await gw.institutionToken(CPH);
      const res = await post('/ingest/hl7v2', '', 'application/hl7-v2', token);
      expect(res.status).toBe(400);
      expect(((await res.json()) as any).issue[0].diagnostics).toMatch(/^The body is empty; kept as message/);
      const kept = await get(res.headers.get('location')!, token);
      expect(kept).toMatchObject({ state: 'failed', format: 'hl7v2', raw: '' });
      const failed = await get('/ingest/messages?status=failed&_count=500', token);
      expect(failed.items.map((i: any) => i.id)).toContain(kept.id);
    });

    it('refuses a message over the maximum over MLLP with AR, keeps its start, and answers the next one', async () => {
      mllp = await startMllpListener({
        port: 0,
        host: '127.0.0.1',
        maxMessageBytes: LIMIT,
        idleTimeoutMs: 10_000,
        logger: silentLogger(),
        handle: gw.acceptMllp,
      });
      const socket = net.connect(mllp.port, '127.0.0.1');
      const received: Buffer[] = [];
      socket.on('data', (d: Buffer) => received.push(d));
      const acks = () =>
        new MllpDecoder(1 << 20).push(Buffer.concat(received)).frames.map((f) => f.toString());
      const big = Buffer.from(oversizeHl7('BIGM01'));
      socket.write(Buffer.concat([frame(big), frame(Buffer.from(adt('SMALLM1')))]));
      const t0 = Date.now();
      while (acks().length < 2 && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 20));
      socket.destroy();
      const [refusal, next] = acks();
      const segments = refusal!.split('\r');
      expect(segments[1]).toMatch(new RegExp(`^MSA\\|AR\\|BIGM01\\|The message \\(${big.length} bytes\\)`));
      expect(segments.find((x) => x.startsWith('ERR|'))).toBeDefined();
      expect(next).toContain('MSA|AA|SMALLM1');

      const list = await get('/ingest/messages?control-id=BIGM01', gw.adminToken);
      expect(list.items).toHaveLength(1);
      expect(list.items[0]).toMatchObject({ state: 'failed', type: 'ADT^A01', institution: CPH });
      expect(list.items[0].flags).toContain('truncated');
      expect(list.items[0].raw).toBe(big.subarray(0, KEPT_BYTES).toString());
      expect(refusal).toContain(list.items[0].id);
    });

    it('answers a body of a type the route does not take with 415 and keeps it', async () => {
      const token = await gw.institutionToken(CPH);
      const res = await post('/ingest/hl7v2', adt('TYPE01'), 'application/xml', token);
      expect(res.status).toBe(415);
      const oo: any = await res.json();
      expect(oo.issue[0]).toMatchObject({ code: 'not-supported' });
      expect(oo.issue[0].diagnostics).toContain('got "application/xml"');
      const kept = await get(res.headers.get('location')!, token);
      expect(kept).toMatchObject({ state: 'failed', format: 'hl7v2', raw: adt('TYPE01') });
      // Without a token the answer is 401, whatever the type, and nothing is kept.
      const anonymous = await fetch(`${gw.publicUrl}/ingest/hl7v2`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/xml' },
        body: adt('TYPE02'),
      });
      expect(anonymous.status).toBe(401);
      expect(
        (await get('/ingest/messages?_count=500', gw.adminToken)).items.map((i: any) => i.raw),
      ).not.toContain(adt('TYPE02'));
    });

    it('keeps what $process-message refuses before its stages: not JSON, not a message, too large', async () => {
      const token = await gw.institutionToken(CGCHC);
      const kept = async (res: Response, status: number, diagnostics: RegExp) => {
        expect(res.status).toBe(status);
        const oo: any = await res.json();
        expect(oo.resourceType).toBe('OperationOutcome');
        expect(oo.issue[0].diagnostics).toMatch(diagnostics);
        const message = await get(res.headers.get('location')!, token);
        expect(message).toMatchObject({ state: 'failed', format: 'fhir', institution: CGCHC });
        return message;
      };
      const notJson = await kept(
        await post('/fhir/$process-message', '{"resourceType": "Bundle",', 'application/fhir+json', token),
        400,
        /Malformed JSON/,
      );
      expect(notJson.raw).toBe('{"resourceType": "Bundle",');
      await kept(
        await post(
          '/fhir/$process-message',
          JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry: [] }),
          'application/fhir+json',
          token,
        ),
        400,
        /takes a Bundle of type message/,
      );
      const big = JSON.stringify({
        resourceType: 'Bundle',
        type: 'message',
        entry: Array.from({ length: 5000 }, (_, i) => ({ resource: { resourceType: 'Basic', id: `b${i}` } })),
      });
      expect(Buffer.byteLength(big)).toBeGreaterThan(LIMIT);
      const tooLarge = await kept(
        await post('/fhir/$process-message', big, 'application/fhir+json', token),
        413,
        /HIE_MAX_BODY_BYTES/,
      );
      expect(tooLarge.flags).toContain('truncated');
    });

    it('keeps nothing for a sender that may not submit, and goes on serving', async () => {
      const before = await get('/ingest/messages?_count=500', gw.adminToken);
      const res = await post('/ingest/hl7v2', oversizeHl7('BIG002'), 'application/hl7-v2', gw.adminToken);
      expect(res.status).toBe(403);
      const after = await get('/ingest/messages?_count=500', gw.adminToken);
      expect(after.items.length).toBe(before.items.length);

      const ok = await post(
        '/ingest/hl7v2',
        adt('SMALL01'),
        'application/hl7-v2',
        await gw.institutionToken(CPH),
      );
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('MSA|AA|SMALL01');
    });
  },
);
