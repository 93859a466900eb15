import { Client } from 'fhir-kit-client';
import { readFileSync } from 'node:fs';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { publishNamingSystems } from '../../src/app/publish-definitions.ts';
import { startTestGateway, type TestGateway } from '../support/test-gateway.ts';

const BASE = 'https://county-hie.org/fhir';
const CPH = 'county-peoples-hospital';
const CGCHC = 'chengguan-community-health-centre';

const adt = (controlId: string, mrn: string, birth = '19491231') =>
  [
    `MSH|^~\\&|HIS|CPH|HIE|COUNTY|20261101083000||ADT^A01^ADT_A01|${controlId}|P|2.5.1|||||CHN|UNICODE UTF-8`,
    'EVN|A01|20261101082500',
    `PID|1||${mrn}^^^CPH^MR~11010519491231002X^^^CHNID^NNCHN||王^秀英||${birth}|F|||城关镇东街1号^^某县^^^CHN||13800138000`,
    `PV1|1|I|NEURO^201^1||||||||||||||||V${controlId}|||||||||||||||||||||||||20261101080000`,
  ].join('\r');

describe.each(inject('pgServers').filter((s) => s.name === 'pg18-embedded'))(
  'the ingestion gateway on $name',
  (server) => {
    let gw: TestGateway;
    let fhir: Client;
    const post = async (path: string, body: string | Buffer, type: string, token: string) =>
      fetch(`${gw.publicUrl}${path}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': type },
        body,
      });
    const messageIdOf = (res: Response) => res.headers.get('location')!.split('/').pop()!;

    beforeAll(async () => {
      gw = await startTestGateway(server, inject('redisUrl'));
      fhir = new Client({ baseUrl: gw.fhirUrl, bearerToken: gw.adminToken });
    });
    afterAll(async () => gw?.close());

    it('takes a FHIR Bundle, answers 202 + Location, and the worker writes it keyed to the sender', async () => {
      const token = await gw.institutionToken(CGCHC);
      const bundle = {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            fullUrl: 'urn:uuid:4f1c0f37-5d3e-4d6b-9a55-0c2b3a1d9e01',
            resource: { resourceType: 'Patient', id: 'p-77', name: [{ text: '李秀兰' }], gender: 'female' },
            request: { method: 'PUT', url: 'Patient/p-77' },
          },
          {
            resource: {
              resourceType: 'Encounter',
              id: 'e-1',
              status: 'finished',
              class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
              subject: { reference: 'Patient/p-77' },
            },
            request: { method: 'PUT', url: 'Encounter/e-1' },
          },
        ],
      };
      const res = await post('/ingest/fhir', JSON.stringify(bundle), 'application/fhir+json', token);
      expect(res.status).toBe(202);
      expect(((await res.json()) as any).resourceType).toBe('OperationOutcome');
      const id = messageIdOf(res);
      const m = await gw.settled(id);
      expect(m?.state).toBe('stored');

      const found: any = await fhir.search({
        resourceType: 'Patient',
        searchParams: { identifier: `${BASE}/sid/source-id/${CGCHC}|p-77` },
      });
      expect(found.entry).toHaveLength(1);
      const patient = found.entry[0].resource;
      expect(patient.id).not.toBe('p-77'); // the sender's id is kept as an identifier, never as ours
      expect(patient.meta.source).toBe(`${BASE}/institution/${CGCHC}#${id}`);
      const enc: any = await fhir.search({
        resourceType: 'Encounter',
        searchParams: { subject: `Patient/${patient.id}` },
      });
      expect(enc.entry).toHaveLength(1);
      const prov: any = await fhir.search({
        resourceType: 'Provenance',
        searchParams: { target: `Patient/${patient.id}` },
      });
      expect(prov.entry?.length).toBe(1);
      expect(prov.entry[0].resource.agent[0].who.reference).toBe(`Organization/${CGCHC}`);

      // The same body again: a re-send, answered without a second write.
      const again = await post('/ingest/fhir', JSON.stringify(bundle), 'application/fhir+json', token);
      expect(again.status).toBe(202);
      expect(messageIdOf(again)).toBe(id);
      const after: any = await fhir.search({
        resourceType: 'Patient',
        searchParams: { identifier: `${BASE}/sid/source-id/${CGCHC}|p-77`, _summary: 'count' },
      });
      expect(after.total).toBe(1);
    });

    it('accepts a FHIR resource with a warning (a national ID failing its check digit) and keeps the warning', async () => {
      const token = await gw.institutionToken(CGCHC);
      const patient = {
        resourceType: 'Patient',
        id: 'p-warn-1',
        identifier: [{ system: 'urn:oid:2.16.156.10011.1.3', value: '110105194912310021' }],
        name: [{ text: '赵敏' }],
        gender: 'female',
      };
      const res = await post('/ingest/fhir', JSON.stringify(patient), 'application/fhir+json', token);
      expect(res.status).toBe(202);
      const answer: any = await res.json();
      const warning = expect.objectContaining({
        severity: 'warning',
        expression: [expect.stringMatching(/^Patient\.identifier\[0\]\.value$/)],
        diagnostics: expect.stringMatching(/fails its check digit/),
      });
      expect(answer.issue).toContainEqual(warning);
      const m = await gw.settled(messageIdOf(res));
      expect(m?.state).toBe('stored');
      expect(m?.outcome?.issue).toContainEqual(warning);
    });

    it('refuses invalid FHIR with 422 naming the element, and keeps it in the failed list', async () => {
      const token = await gw.institutionToken(CGCHC);
      const res = await post(
        '/ingest/fhir',
        JSON.stringify({ resourceType: 'Patient', gender: 'robot' }),
        'application/fhir+json',
        token,
      );
      expect(res.status).toBe(422);
      const oo: any = await res.json();
      expect(oo.issue[0].expression[0]).toBe('Patient.gender');
      const id = messageIdOf(res);
      const list: any = await (
        await fetch(`${gw.publicUrl}/ingest/messages?status=failed`, {
          headers: { Authorization: `Bearer ${token}` },
        })
      ).json();
      const item = list.items.find((i: any) => i.id === id);
      expect(item.state).toBe('failed');
      expect(item.raw).toContain('robot');
      // Replay runs the same stages again: still invalid, still failed, still there.
      const replay = await fetch(`${gw.publicUrl}/ingest/messages/${id}/$replay`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}` },
      });
      expect(replay.status).toBe(422);
      expect(((await replay.json()) as any).state).toBe('failed');
    });

    it('keeps a message the repository refused, and replay writes it once the cause is fixed', async () => {
      const token = await gw.institutionToken(CGCHC);
      const body = JSON.stringify({
        resourceType: 'Patient',
        id: 'p-org',
        name: [{ text: '孙七' }],
        managingOrganization: { reference: 'Organization/cg-branch-2' },
      });
      const res = await post('/ingest/fhir', body, 'application/fhir+json', token);
      expect(res.status).toBe(202);
      const id = messageIdOf(res);
      const failed = await gw.settled(id);
      expect(failed?.state).toBe('failed');
      expect(JSON.stringify(failed?.outcome)).toMatch(/Organization/);

      // The sender's organisation arrives (keyed to the sender, as the pass-through keys it).
      await fhir.create({
        resourceType: 'Organization',
        body: {
          resourceType: 'Organization',
          name: '城关二分站',
          identifier: [{ system: `${BASE}/sid/source-id/${CGCHC}`, value: 'cg-branch-2' }],
        },
      });
      const replay = await fetch(`${gw.publicUrl}/ingest/messages/${id}/$replay`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}` },
      });
      expect(replay.status).toBe(202);
      expect((await gw.settled(id))?.state).toBe('stored');
      const found: any = await fhir.search({
        resourceType: 'Patient',
        searchParams: { identifier: `${BASE}/sid/source-id/${CGCHC}|p-org` },
      });
      expect(found.entry).toHaveLength(1);
    });

    it('lets only an institution submit, and only its own messages be seen', async () => {
      const body = JSON.stringify({ resourceType: 'Patient', name: [{ text: '张' }] });
      expect(
        (
          await fetch(`${gw.publicUrl}/ingest/fhir`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/fhir+json' },
            body,
          })
        ).status,
      ).toBe(401);
      expect((await post('/ingest/fhir', body, 'application/fhir+json', gw.adminToken)).status).toBe(403);
      const mine = await post(
        '/ingest/fhir',
        body,
        'application/fhir+json',
        await gw.institutionToken(CGCHC),
      );
      const id = messageIdOf(mine);
      const other = await gw.institutionToken(CPH);
      const peek = await fetch(`${gw.publicUrl}/ingest/messages/${id}`, {
        headers: { Authorization: `Bearer ${other}` },
      });
      expect(peek.status).toBe(403);
      const list: any = await (
        await fetch(`${gw.publicUrl}/ingest/messages`, { headers: { Authorization: `Bearer ${other}` } })
      ).json();
      expect(list.items.every((i: any) => i.institution === CPH)).toBe(true);
      const asAdmin: any = await (
        await fetch(`${gw.publicUrl}/ingest/messages/${id}`, {
          headers: { Authorization: `Bearer ${gw.adminToken}` },
        })
      ).json();
      expect(asAdmin.raw).toContain('张');
    });

    it('refuses a misspelt filter on the message list and on bulk replay instead of ignoring it', async () => {
      const failedBefore: any = await (
        await fetch(`${gw.publicUrl}/ingest/messages?status=failed&_count=500`, {
          headers: { Authorization: `Bearer ${gw.adminToken}` },
        })
      ).json();
      const list = await fetch(`${gw.publicUrl}/ingest/messages?state=failed`, {
        headers: { Authorization: `Bearer ${gw.adminToken}` },
      });
      expect(list.status).toBe(400);
      const oo: any = await list.json();
      expect(oo.resourceType).toBe('OperationOutcome');
      expect(oo.issue[0].diagnostics).toContain('"state"');
      expect(oo.issue[0].diagnostics).toContain('status');
      const replay = await fetch(`${gw.publicUrl}/ingest/messages/$replay?institutoin=${CGCHC}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${gw.adminToken}` },
      });
      expect(replay.status).toBe(400);
      expect(((await replay.json()) as any).issue[0].diagnostics).toContain('"institutoin"');
      // Nothing was replayed: every failed message is still failed, with its attempts unchanged.
      const failedAfter: any = await (
        await fetch(`${gw.publicUrl}/ingest/messages?status=failed&_count=500`, {
          headers: { Authorization: `Bearer ${gw.adminToken}` },
        })
      ).json();
      expect(failedBefore.items.length).toBeGreaterThan(0);
      expect(failedAfter.items.map((i: any) => [i.id, i.updatedAt])).toEqual(
        failedBefore.items.map((i: any) => [i.id, i.updatedAt]),
      );
    });

    it('takes HL7 v2 over HTTP: 200 + AA + Location, Patient and Encounter written under the MRN', async () => {
      const token = await gw.institutionToken(CPH);
      const res = await post('/ingest/hl7v2', adt('MSG0001', 'MRN001'), 'application/hl7-v2', token);
      expect(res.status).toBe(200);
      const ack = await res.text();
      expect(ack).toMatch(/^MSH\|/);
      expect(ack).toContain('MSA|AA|MSG0001');
      const m = await gw.settled(messageIdOf(res));
      expect(m?.state).toBe('stored');
      const p: any = await fhir.search({
        resourceType: 'Patient',
        searchParams: { identifier: `${BASE}/sid/mrn/${CPH}|MRN001` },
      });
      expect(p.entry).toHaveLength(1);
      expect(p.entry[0].resource.name[0].text).toBe('王秀英');
      const e: any = await fhir.search({
        resourceType: 'Encounter',
        searchParams: { identifier: `${BASE}/sid/visit/${CPH}|VMSG0001` },
      });
      expect(e.entry[0].resource.serviceProvider.reference).toBe(`Organization/${CPH}`);

      const again = await post('/ingest/hl7v2', adt('MSG0001', 'MRN001'), 'application/hl7-v2', token);
      expect(await again.text()).toContain('MSA|AA|MSG0001');
      const count: any = await fhir.search({
        resourceType: 'Patient',
        searchParams: { identifier: `${BASE}/sid/mrn/${CPH}|MRN001`, _summary: 'count' },
      });
      expect(count.total).toBe(1);
    });

    it('answers AE with ERR for bad content, 400 without MSH, 403 for another facility', async () => {
      const token = await gw.institutionToken(CPH);
      const bad = await post(
        '/ingest/hl7v2',
        adt('MSG0002', 'MRN002', '19491340'),
        'application/hl7-v2',
        token,
      );
      expect(bad.status).toBe(200);
      const ack = await bad.text();
      expect(ack).toContain('MSA|AE|MSG0002');
      expect(ack).toMatch(/\rERR\|\|PID\^1\^7/);
      expect((await gw.settled(messageIdOf(bad)))?.state).toBe('failed');

      // Refused by validation, not by the mapping: still named by the field the sender wrote.
      const badCode = await post(
        '/ingest/hl7v2',
        `${adt('MSG0004', 'MRN004')}\rDG1|1||I1  0^高血压^I10||20261101080000|A`,
        'application/hl7-v2',
        token,
      );
      expect(await badCode.text()).toMatch(/\rERR\|\|DG1\^1\^3\^1\|102\^Data type error\^HL70357\|E\|/);
      const kept = await gw.settled(messageIdOf(badCode));
      expect(kept?.state).toBe('failed');
      expect(kept?.outcome?.issue[0]).toMatchObject({
        expression: [
          'DG1-3',
          expect.stringMatching(/^Bundle\.entry\[\d+\]\.resource\.code\.coding\[0\]\.code$/),
        ],
        location: ['DG1^1^3^1'],
      });

      const noMsh = await post('/ingest/hl7v2', 'hello', 'text/plain', token);
      expect(noMsh.status).toBe(400);
      const foreign = await post(
        '/ingest/hl7v2',
        adt('MSG0003', 'MRN003').replace('|HIS|CPH|', '|HIS|CSL|'),
        'application/hl7-v2',
        token,
      );
      expect(foreign.status).toBe(403);
    });

    it('answers a message its charset cannot decode with an AE the sender can match: MSA-2 is its MSH-10', async () => {
      const token = await gw.institutionToken(CPH);
      // GB18030 bytes sent as UTF-8 (the header says so): not valid UTF-8.
      const body = iconv.encode(adt('MSG0030', 'MRN030'), 'gb18030');
      const res = await post('/ingest/hl7v2', body, 'application/hl7-v2; charset=utf-8', token);
      expect(res.status).toBe(200);
      const segments = (await res.text()).split('\r');
      const msh = segments[0]!.split('|');
      expect([msh[2], msh[3], msh[4], msh[5]]).toEqual(['HIE', 'COUNTY', 'HIS', 'CPH']);
      expect(segments[1]).toMatch(/^MSA\|AE\|MSG0030\|.*not valid UTF-8/);
      expect(segments.find((x) => x.startsWith('ERR|'))).toMatch(/^ERR\|\|MSH\^1\^18/);
      // Kept as failed under its own control id and type, so IT staff find it by either.
      const list: any = await (
        await fetch(`${gw.publicUrl}/ingest/messages?control-id=MSG0030`, {
          headers: { Authorization: `Bearer ${token}` },
        })
      ).json();
      expect(list.items).toHaveLength(1);
      expect(list.items[0]).toMatchObject({ state: 'failed', type: 'ADT^A01', controlId: 'MSG0030' });
      expect(list.items[0].id).toBe(messageIdOf(res));
    });

    it('addresses the answer to a message refused while parsing: an unsupported version (AR), a bad segment (AE)', async () => {
      const token = await gw.institutionToken(CPH);
      const listed = async (controlId: string) =>
        (
          (await (
            await fetch(`${gw.publicUrl}/ingest/messages?control-id=${controlId}`, {
              headers: { Authorization: `Bearer ${token}` },
            })
          ).json()) as { items: { state: string; type: string; controlId: string; id: string }[] }
        ).items;
      const cases = [
        {
          controlId: 'MSG0040',
          text: adt('MSG0040', 'MRN040').replace('|P|2.5.1|', '|P|9.9|'),
          code: 'AR',
          err: 'MSH^1^12',
        },
        { controlId: 'MSG0041', text: `${adt('MSG0041', 'MRN041')}\rpv2|oops`, code: 'AE', err: 'pv2^5' },
      ];
      for (const c of cases) {
        const res = await post('/ingest/hl7v2', c.text, 'application/hl7-v2', token);
        expect(res.status).toBe(200);
        const segments = (await res.text()).split('\r');
        const msh = segments[0]!.split('|');
        // Sender and receiver swapped, MSA-2 = the message's MSH-10: the sender can match it.
        expect([msh[2], msh[3], msh[4], msh[5]]).toEqual(['HIE', 'COUNTY', 'HIS', 'CPH']);
        // In a version we speak: the sender's 2.5.1, and ours for the one we do not.
        expect(msh[11]).toBe('2.5.1');
        expect(segments[1]).toMatch(new RegExp(`^MSA\\|${c.code}\\|${c.controlId}\\|`));
        expect(segments.find((x) => x.startsWith('ERR|'))).toContain(c.err);
        // Kept as failed under its own control id and type.
        const items = await listed(c.controlId);
        expect(items).toHaveLength(1);
        expect(items[0]).toMatchObject({ state: 'failed', type: 'ADT^A01', controlId: c.controlId });
        expect(items[0]!.id).toBe(messageIdOf(res));
      }
    });

    it('accepts a message with a warning: AA with an ERR of severity W, the warning kept with the message', async () => {
      const token = await gw.institutionToken(CPH);
      // PV1-2 "ZZ" is a local patient class the ConceptMap does not know: kept, and reported.
      const local = adt('MSG0020', 'MRN020').replace('PV1|1|I|', 'PV1|1|ZZ|');
      const res = await post('/ingest/hl7v2', local, 'application/hl7-v2', token);
      const ack = await res.text();
      expect(ack).toContain('MSA|AA|MSG0020');
      const err = ack.split('\r').find((seg) => seg.startsWith('ERR|'));
      expect(err).toBeDefined();
      const fields = err!.split('|');
      // The place of the local code (PV1-2) and "table value not found", accepted (W).
      expect(fields[2]).toBe('PV1^1^2^1');
      expect(fields[3]).toBe('103^Table value not found^HL70357');
      expect(fields[4]).toBe('W');
      expect(fields[8]).toMatch(/PV1-2.*"ZZ".*kept with its local system/);
      const id = messageIdOf(res);
      expect((await gw.settled(id))?.state).toBe('stored');
      // The sender reads the warning later with its message, after the worker stored it.
      const shown: any = await (
        await fetch(`${gw.publicUrl}/ingest/messages/${id}`, {
          headers: { Authorization: `Bearer ${token}` },
        })
      ).json();
      expect(shown.outcome.issue).toContainEqual(
        expect.objectContaining({
          severity: 'warning',
          expression: ['PV1-2'],
          diagnostics: expect.stringMatching(/local code "ZZ" has no translation/),
        }),
      );
      // A clean message has no ERR.
      const clean = await post('/ingest/hl7v2', adt('MSG0021', 'MRN021'), 'application/hl7-v2', token);
      expect(await clean.text()).not.toContain('\rERR|');

      // A malformed MSH-7 beside a good EVN: accepted, and the warning's ERR names the field.
      const badClock = adt('MSG0022', 'MRN022').replace('|20261101083000|', '|2026110108300099999|');
      const warnedAck = await (await post('/ingest/hl7v2', badClock, 'application/hl7-v2', token)).text();
      expect(warnedAck).toContain('MSA|AA|MSG0022');
      expect(warnedAck).toMatch(/\rERR\|\|MSH\^1\^7\^1\|102\^Data type error\^HL70357\|W\|/);
    });

    it('acknowledges several messages in one POST, one ACK per line in order', async () => {
      const token = await gw.institutionToken(CPH);
      const res = await post(
        '/ingest/hl7v2',
        [adt('MSG0010', 'MRN010'), adt('MSG0011', 'MRN011', 'bad')].join('\r'),
        'application/hl7-v2',
        token,
      );
      const acks = (await res.text()).split('\n');
      expect(acks).toHaveLength(2);
      expect(acks[0]).toContain('MSA|AA|MSG0010');
      expect(acks[1]).toContain('MSA|AE|MSG0011');
    });

    it('maps a village clinic CSV export row by row through the shipped mapping', async () => {
      const token = await gw.institutionToken('dongcun-village-clinic');
      const sample = readFileSync(
        new URL('../../mappings/samples/village-visits.csv', import.meta.url),
        'utf8',
      );
      const res = await post(
        '/ingest/csv/village-visits',
        iconv.encode(sample, 'gb18030'),
        'text/csv',
        token,
      );
      expect(res.status).toBe(202);
      const list: any = await (
        await fetch(`${gw.publicUrl}/ingest/messages?feed=village-visits`, {
          headers: { Authorization: `Bearer ${token}` },
        })
      ).json();
      const rows = sample.trim().split(/\r?\n/).length - 1;
      expect(list.items).toHaveLength(rows);
      for (const item of list.items) expect((await gw.settled(item.id))?.state).toBe('stored');
      const mrn = `${BASE}/sid/mrn/dongcun-village-clinic|DC0001`;
      const p: any = await fhir.search({ resourceType: 'Patient', searchParams: { identifier: mrn } });
      expect(p.entry[0].resource.name[0].text).toBe('欧阳明');
      const c: any = await fhir.search({
        resourceType: 'Condition',
        searchParams: { subject: `Patient/${p.entry[0].resource.id}` },
      });
      expect(c.entry[0].resource.code.coding.map((x: any) => x.code)).toContain('I10');

      // The same file as UTF-8, saying so in the content type, maps too (the registry's GB 18030 is the default only).
      const utf8 = await post(
        '/ingest/csv/village-visits',
        Buffer.from(sample.replace(/V2026110100(\d)/g, 'V2026110109$1')),
        'text/csv; charset=utf-8',
        token,
      );
      expect(utf8.status).toBe(202);

      // A diagnosis code the ConceptMap does not know: accepted (202), the warning in the answer and
      // kept with the row's message, naming its line and column.
      const header0 = sample.split(/\r?\n/)[0]!;
      const unknownDx = sample
        .split(/\r?\n/)[1]!
        .replace('V20261101001', 'V20261101031')
        .replace(',GXY,', ',ZZ99,');
      const warned = await post(
        '/ingest/csv/village-visits',
        iconv.encode(`${header0}\r\n${unknownDx}\r\n`, 'gb18030'),
        'text/csv',
        token,
      );
      expect(warned.status).toBe(202);
      const answer: any = await warned.json();
      const warning = expect.objectContaining({
        severity: 'warning',
        expression: ['line 2, column "诊断编码"'],
        diagnostics: expect.stringContaining('"ZZ99"'),
      });
      expect(answer.issue).toContainEqual(warning);
      const row = await gw.settled(messageIdOf(warned));
      expect(row?.state).toBe('stored');
      expect(row?.outcome?.issue).toContainEqual(warning);

      // A row without a required cell: 422 naming line and column; the good row of the same file is kept.
      const header = sample.split(/\r?\n/)[0]!;
      const good = sample.split(/\r?\n/)[1]!.replace('V20261101001', 'V20261101009');
      const bad = good.replace('V20261101009', 'V20261101010').replace('欧阳明', '');
      const mixed = await post(
        '/ingest/csv/village-visits',
        iconv.encode(`${header}\r\n${good}\r\n${bad}\r\n`, 'gb18030'),
        'text/csv',
        token,
      );
      expect(mixed.status).toBe(422);
      expect(JSON.stringify(await mixed.json())).toContain('line 3, column \\"姓名\\"');

      // A cell the mapping reads but the validator refuses (a code with two spaces): its line and column too.
      const badCode = good.replace('V20261101009', 'V20261101011').replace('GXY', 'GX  Y');
      const refused = await post(
        '/ingest/csv/village-visits',
        iconv.encode(`${header}\r\n${badCode}\r\n`, 'gb18030'),
        'text/csv',
        token,
      );
      expect(refused.status).toBe(422);
      const issues = ((await refused.json()) as any).issue.filter((i: any) => i.severity === 'error');
      expect(issues.map((i: any) => i.expression[0])).toEqual(['line 2, column "诊断编码"']);

      const notObject = await post(
        '/ingest/json/township-his',
        '[1,2]',
        'application/json',
        await gw.institutionToken('qiaotou-township-health-centre'),
      );
      expect(notObject.status).toBe(422);
      expect(((await notObject.json()) as any).issue[0].diagnostics).toMatch(/must be an object/);
    });

    it('shows administrators the mappings with their use counts, and translates codes by ConceptMap', async () => {
      const admin = { Authorization: `Bearer ${gw.adminToken}` };
      const list: any = await (await fetch(`${gw.publicUrl}/admin/mappings`, { headers: admin })).json();
      const village = list.items.find((i: any) => i.id === 'village-visits');
      expect(village.used).toBeGreaterThan(0); // the CSV test above mapped rows through it
      const clinic = { Authorization: `Bearer ${await gw.institutionToken(CPH)}` };
      expect((await fetch(`${gw.publicUrl}/admin/mappings`, { headers: clinic })).status).toBe(403);

      const q = new URLSearchParams({
        url: `${BASE}/ConceptMap/village-diagnosis`,
        system: `${BASE}/CodeSystem/local/dongcun-village-clinic/diagnosis`,
        code: 'GXY',
      });
      const res = await fetch(`${gw.fhirUrl}/ConceptMap/$translate?${q}`, { headers: admin });
      expect(res.status).toBe(200);
      const params: any = await res.json();
      expect(params.parameter.find((p: any) => p.name === 'result').valueBoolean).toBe(true);
      const match = params.parameter.find((p: any) => p.name === 'match');
      expect(match.part.find((p: any) => p.name === 'concept').valueCoding).toMatchObject({
        system: 'http://hl7.org/fhir/sid/icd-10',
        code: 'I10',
      });
    });

    it('serves one NamingSystem per identifier system, written once', async () => {
      const found: any = await fhir.search({
        resourceType: 'NamingSystem',
        searchParams: { value: 'urn:oid:2.16.156.10011.1.3' },
      });
      expect(found.entry).toHaveLength(1);
      expect(found.entry[0].resource.id).toBe('national-resident-id');
      const all: any = await fhir.search({
        resourceType: 'NamingSystem',
        searchParams: { _summary: 'count' },
      });
      expect(all.total).toBe(9);
      // Publishing again changes nothing: no new versions on every restart.
      expect(await publishNamingSystems(gw.repo)).toEqual([]);
    });

    it('labels sensitive records by the rule table before they are written', async () => {
      const token = await gw.institutionToken(CGCHC);
      const bundle = {
        resourceType: 'Bundle',
        type: 'collection',
        entry: [
          { resource: { resourceType: 'Patient', id: 'p-sens', name: [{ text: '周八' }] } },
          {
            resource: {
              resourceType: 'Condition',
              id: 'c-sens',
              subject: { reference: 'Patient/p-sens' },
              code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10', code: 'B20.1' }] },
            },
          },
        ],
      };
      const res = await post('/ingest/fhir', JSON.stringify(bundle), 'application/fhir+json', token);
      expect(res.status).toBe(202);
      expect((await gw.settled(messageIdOf(res)))?.state).toBe('stored');
      const found: any = await fhir.search({
        resourceType: 'Condition',
        searchParams: { identifier: `${BASE}/sid/source-id/${CGCHC}|c-sens` },
      });
      const security = found.entry[0].resource.meta.security.map((c: any) => c.code);
      expect(security).toEqual(expect.arrayContaining(['HIV', 'R']));
      const patient: any = await fhir.search({
        resourceType: 'Patient',
        searchParams: { identifier: `${BASE}/sid/source-id/${CGCHC}|p-sens` },
      });
      expect(patient.entry[0].resource.meta.security).toBeUndefined();
    });

    it('counts messages in Prometheus metrics, with no personal data in labels', async () => {
      const res = await fetch(`${gw.publicUrl}/metrics`, {
        headers: { Authorization: `Bearer ${gw.adminToken}` },
      });
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toMatch(
        /hie_ingest_messages_total\{institution="county-peoples-hospital",type="ADT\^A01",verdict="accepted"\} [1-9]/,
      );
      expect(text).toMatch(
        /hie_ingest_finished_total\{institution="county-peoples-hospital",type="ADT\^A01",state="stored"\} [1-9]/,
      );
      expect(text).toMatch(/hie_ingest_receive_to_stored_seconds_count\{type="ADT\^A01"\} [1-9]/);
      expect(text).toMatch(/^hie_queue_depth \d+/m);
      expect(text).not.toMatch(/王|秀英|MRN0|11010519491231002X/);
      expect((await fetch(`${gw.publicUrl}/metrics`)).status).toBe(401);
    });

    it('answers a FHIR message with a response message', async () => {
      const token = await gw.institutionToken(CGCHC);
      const message = {
        resourceType: 'Bundle',
        type: 'message',
        entry: [
          {
            resource: {
              resourceType: 'MessageHeader',
              id: 'mh-1',
              eventCoding: { system: 'urn:test', code: 'patient-update' },
              source: { endpoint: 'urn:cgchc' },
            },
          },
          { resource: { resourceType: 'Patient', id: 'p-9', name: [{ text: '赵六' }] } },
        ],
      };
      const res = await post(
        '/fhir/$process-message',
        JSON.stringify(message),
        'application/fhir+json',
        token,
      );
      expect(res.status).toBe(200);
      const answer: any = await res.json();
      expect(answer.type).toBe('message');
      expect(answer.entry[0].resource.response).toMatchObject({ identifier: 'mh-1', code: 'ok' });
      expect((await gw.settled(messageIdOf(res)))?.state).toBe('stored');
    });
  },
);
