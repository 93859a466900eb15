import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureDemoKeys, readInstitutionKey } from '../../../src/institutions/institution-keys.ts';
import { startMllpListener, type MllpListener } from '../../../src/ingest/mllp/index.ts';
import { silentLogger } from '../../../src/kernel/logger.ts';
import { readManifest } from '../../../src/demo/send/manifest.ts';
import { requestInstitutionToken } from '../../../src/demo/send/institution-token.ts';
import { sendDemoDirectory, type SendOptions } from '../../../src/demo/send/sender.ts';
import { waitUntilFinal } from '../../../src/demo/send/wait.ts';
import type { InboundMessage } from '../../../src/inbox/types.ts';
import { freePort } from '../../support/free-port.ts';
import { startTestGateway, type TestGateway } from '../../support/test-gateway.ts';
import { writeSmallCounty } from './small-county.ts';

describe.each(inject('pgServers').filter((s) => s.name === 'pg18-embedded'))(
  'hie demo send against a running gateway ($name)',
  (server) => {
    let gw: TestGateway;
    let mllp: MllpListener;
    let work: string;
    const options = (): SendOptions => ({
      publicUrl: gw.publicUrl,
      mllp: { host: '127.0.0.1', port: mllp.port },
      keyOf: async (id) => (await readInstitutionKey(gw.config.dataDir, id))!.privateKeyPem,
      concurrency: 3,
    });
    const all = async (institution?: string): Promise<InboundMessage[]> => {
      const out: InboundMessage[] = [];
      let cursor: string | undefined;
      do {
        const page = await gw.inbox.list({
          ...(institution ? { institution } : {}),
          count: 500,
          ...(cursor ? { cursor } : {}),
        });
        out.push(...page.items);
        cursor = page.next;
      } while (cursor);
      return out;
    };

    beforeAll(async () => {
      gw = await startTestGateway(server, inject('redisUrl'));
      // The institutions' demo keys, as `npm start` makes them with the demo issuer on.
      await ensureDemoKeys(gw.database.db, gw.config.dataDir);
      gw.registry.invalidate();
      mllp = await startMllpListener({
        port: await freePort(),
        host: '127.0.0.1',
        maxMessageBytes: 1 << 20,
        idleTimeoutMs: 60_000,
        logger: silentLogger(),
        handle: gw.acceptMllp,
      });
      work = await mkdtemp(path.join(os.tmpdir(), 'hie-demo-send-'));
    });
    afterAll(async () => {
      await mllp?.close();
      await gw?.close();
      if (work) await rm(work, { recursive: true, force: true });
    });

    it('gets tokens from /auth/token with the institution key, naming the institution', async () => {
      const key = await readInstitutionKey(gw.config.dataDir, 'dongcun-village-clinic');
      const token = await requestInstitutionToken(gw.publicUrl, 'dongcun-village-clinic', key!.privateKeyPem);
      const claims = JSON.parse(Buffer.from(token.accessToken.split('.')[1]!, 'base64url').toString('utf8'));
      expect(claims.hie_institution).toBe('dongcun-village-clinic');
      expect(token.expiresAtMs).toBeGreaterThan(Date.now());
    });

    it('delivers every channel, counts the deliberately bad messages as expected, and all reach a final state', async () => {
      const dir = path.join(work, 'county');
      const county = await writeSmallCounty(dir, 'S');
      const progress: number[] = [];
      const report = await sendDemoDirectory(dir, await readManifest(dir), {
        ...options(),
        onProgress: (p) => progress.push(p.sent),
      });
      expect(report.mismatches).toEqual([]);
      expect(report.sent).toBe(county.manifest.totals.messages);
      expect(report.expectedFailures).toBe(3);
      expect(report.refused).toBe(3);
      expect(report.accepted).toBe(county.good);
      expect(progress.at(-1)).toBe(report.total);
      // One backend-services token per institution of the manifest, not a demo-issuer token.
      expect(Object.keys(report.tokens).sort()).toEqual([
        'chengguan-community-health-centre',
        'county-peoples-hospital',
        'dongcun-village-clinic',
        'qiaotou-township-health-centre',
      ]);

      const counts = await waitUntilFinal({
        publicUrl: gw.publicUrl,
        institutions: Object.keys(report.tokens),
        bearer: async () => gw.adminToken,
        since: new Date(Date.parse(report.startedAt) - 1000).toISOString(),
        timeoutMs: 60_000,
      });
      expect(counts.queued).toBe(0);
      const messages = await all();
      // The failed ones are exactly the three deliberately bad messages, each for its reason.
      const failed = messages.filter((m) => m.state === 'failed').map((m) => JSON.stringify(m.outcome));
      expect(failed).toHaveLength(3);
      expect(failed.join()).toMatch(/PID-7/);
      expect(failed.join()).toMatch(/robot/);
      expect(failed.join()).toMatch(/姓名/);
      expect(counts.failed).toBe(3);

      expect(messages.filter((m) => m.state === 'stored')).toHaveLength(county.good);
      // Each message is archived under the institution whose token sent it.
      for (const id of county.hl7ControlIds) {
        const m = messages.filter((x) => x.controlId === id);
        expect(m, id).toHaveLength(1);
        expect(m[0]!.institution).toBe('county-peoples-hospital');
        expect(m[0]!.state).toBe('stored');
      }
      expect((await all('dongcun-village-clinic')).filter((m) => m.state === 'stored')).toHaveLength(
        county.manifest.phases[1]!.files[0]!.messages - 1,
      );
      expect((await all('qiaotou-township-health-centre')).map((m) => m.state)).toEqual(['stored', 'stored']);

      // Sending the same directory again writes nothing new: re-sends are answered, not stored twice.
      const again = await sendDemoDirectory(dir, await readManifest(dir), options());
      expect(again.mismatches).toEqual([]);
      const after = await all();
      expect(after.filter((m) => m.state === 'stored')).toHaveLength(county.good);
    });

    it('skips files an interrupted run finished and sends the rest', async () => {
      const dir = path.join(work, 'resume');
      const county = await writeSmallCounty(dir, 'R');
      const manifest = await readManifest(dir);
      const first = manifest.phases[0]!.files.map((f) => f.path);
      const done: string[] = [];
      const report = await sendDemoDirectory(dir, manifest, {
        ...options(),
        skipFiles: new Set(first),
        onFileDone: (f) => void done.push(f.path),
      });
      // Institutions of one phase run concurrently, so only the set is fixed.
      expect(done.sort()).toEqual(manifest.phases[1]!.files.map((f) => f.path).sort());
      expect(report.skipped).toBe(6);
      expect(report.sent).toBe(report.total);
      const ids = new Set((await all('county-peoples-hospital')).map((m) => m.controlId));
      // The skipped HL7 files were not sent by this run.
      for (const id of county.hl7ControlIds) expect(ids.has(id)).toBe(false);
    });

    it('reports an answer that contradicts the manifest', async () => {
      const dir = path.join(work, 'mismatch');
      await writeSmallCounty(dir, 'X');
      const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8'));
      // Claim that a good FHIR bundle must be refused, and that the bad HL7 message gets AR.
      manifest.expectedFailures.push({
        path: 'messages/2-care/chengguan-fhir.ndjson',
        index: 0,
        controlId: 'x',
        reason: 'wrongly listed',
        expect: '422',
      });
      manifest.expectedFailures[0].expect = 'AR';
      await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
      const report = await sendDemoDirectory(dir, await readManifest(dir), options());
      expect(report.mismatches.map((m) => [m.path, m.index, m.expected, m.answer])).toEqual([
        ['messages/1-registrations/cph-lis.hl7', 1, 'AR', 'AE'],
        ['messages/2-care/chengguan-fhir.ndjson', 0, '422', '202'],
      ]);
      expect(report.expectedFailures).toBe(2);
    });
  },
);
