import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../support/free-port.ts';
import { adtA01, CPH, MRN_SYSTEM, readAck, VISIT_SYSTEM } from './support/hl7.ts';
import { systemReader } from './support/outcome-checks.ts';
import {
  hieToken,
  postOnce,
  startSystem,
  stopIfRunning,
  waitReady,
  type PostOutcome,
  type SystemProcess,
} from './support/system-process.ts';

/**
 * `kill -9` of `npm start` while an institution is sending: no cleanup runs at all. Requests the
 * process had read but not answered are cut; some of them were already committed to the archive.
 * The sender does what an HL7 sender does — resends everything it holds no AA for — to a start on
 * the same data folder, which first stops the embedded servers the dead process left running.
 * Every message must then be stored exactly once: the committed ones are recognised as re-sends,
 * and the reconciler's start-up sweep finishes the ones whose job was never queued.
 */
const N = 300;
const IN_FLIGHT = 20;
/** SIGKILL once this many answers have come back: the middle of the burst. */
const KILL_AFTER = 120;
const DRAIN_MS = 90_000;
const HEADERS = (token: string) => ({
  authorization: `Bearer ${token}`,
  'content-type': 'x-application/hl7-v2+er7; charset=UTF-8',
});

describe('SIGKILL of npm start under load', () => {
  let dataDir: string | undefined;
  let running: SystemProcess | undefined;
  afterAll(async () => {
    await stopIfRunning(running);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it(
    'cuts what it had not answered, and after a restart every message the sender resends is stored once',
    { timeout: 240_000 },
    async () => {
      dataDir = await mkdtemp(path.join(os.tmpdir(), 'hie-test-sigkill-'));
      const port = await freePort();
      const env = {
        HIE_DATA_DIR: dataDir,
        PORT: String(port),
        MLLP_PORT: String(await freePort()),
        HIE_LOG_LEVEL: 'info',
        HIE_DEMO_COUNTY: 'off',
      };
      const url = `http://localhost:${port}`;
      const ingest = `http://127.0.0.1:${port}/ingest/hl7v2`;
      const first = startSystem(env);
      running = first;
      await waitReady(first, url, 120_000);
      const institutionToken = await hieToken(['token', 'institution', CPH], env);
      const adminToken = await hieToken(['token', 'admin'], env);

      const outcomes = new Map<string, PostOutcome>();
      let answered = 0;
      let next = 0;
      const sender = async () => {
        while (next < N) {
          const key = `SK${next++}`;
          const outcome = await postOnce(ingest, HEADERS(institutionToken), adtA01(key));
          outcomes.set(key, outcome);
          if (outcome.kind === 'answered' && ++answered === KILL_AFTER) first.child.kill('SIGKILL');
        }
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, sender));
      expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
      running = undefined;

      const isAa = (key: string, o: PostOutcome | undefined) =>
        o?.kind === 'answered' &&
        o.status === 200 &&
        readAck(o.body)?.code === 'AA' &&
        readAck(o.body)?.controlId === key;
      const keys = Array.from({ length: N }, (_, i) => `SK${i}`);
      // Before the kill, each request was answered AA; after it, none was answered at all.
      const acked = keys.filter((k) => isAa(k, outcomes.get(k)));
      const unanswered = keys.filter((k) => outcomes.get(k)?.kind !== 'answered');
      expect(acked.length + unanswered.length).toBe(N);
      expect(acked.length).toBeGreaterThanOrEqual(KILL_AFTER);
      const cut = unanswered.filter((k) => outcomes.get(k)?.kind === 'cut');
      expect(cut.length, 'requests in flight at the kill').toBeGreaterThan(0);

      // The restart: it finds the embedded PostgreSQL and Redis the killed process left running.
      const restartedAt = new Date().toISOString();
      const second = startSystem(env);
      running = second;
      await waitReady(second, url, 120_000);

      // The sender resends, in order, everything it holds no AA for: each now gets its AA.
      const resent = new Map<string, PostOutcome>();
      for (const key of unanswered)
        resent.set(key, await postOnce(ingest, HEADERS(institutionToken), adtA01(key)));
      expect(unanswered.filter((k) => !isAa(k, resent.get(k)))).toEqual([]);

      const reader = systemReader(url, adminToken);
      await reader.drained(DRAIN_MS);
      expect(await reader.messages('failed')).toEqual([]);
      // One archived message per key: a request committed before the kill and resent after it is
      // recognised as a re-send, not archived (or written) a second time.
      const storedRows = await reader.messages('stored');
      const stored = storedRows.map((m) => m.controlId);
      expect(stored.sort()).toEqual([...keys].sort());
      // Cut in flight, yet committed before the kill: their resends were the re-send case.
      const cutButKept = storedRows.filter((m) => cut.includes(m.controlId) && m.receivedAt < restartedAt);
      expect(await reader.byIdentifier('Patient', MRN_SYSTEM)).toEqual(
        Object.fromEntries(keys.map((k) => [k, 1])),
      );
      expect(await reader.byIdentifier('Encounter', VISIT_SYSTEM)).toEqual(
        Object.fromEntries(keys.map((k) => [`V${k}`, 1])),
      );
      expect(await reader.provenances()).toBe(N);

      second.child.kill('SIGTERM');
      expect(await second.exited).toEqual({ code: 0, signal: null });
      running = undefined;
      console.info(
        `[sigkill] ${N} sent, ${acked.length} acknowledged before the kill, ${cut.length} cut in flight, ` +
          `${unanswered.length - cut.length} refused; ${cutButKept.length} of the cut ones were committed before ` +
          `the kill; all ${N} stored once after the resends`,
      );
    },
  );
});
