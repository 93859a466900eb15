import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import pg from 'pg';
import { DEFAULT_PREFIX, INGEST_QUEUE } from '../../../src/queue/connection.ts';
import { readRuntimeFile } from '../../../src/app/runtime-file.ts';
import { freePort } from '../../support/free-port.ts';
import { adtA01, CPH, MRN_SYSTEM, readAck, VISIT_SYSTEM } from './support/hl7.ts';
import {
  hieToken,
  postOnce,
  startSystem,
  stopIfRunning,
  waitReady,
  type PostOutcome,
  type SystemProcess,
} from './support/system-process.ts';
import { systemReader } from './support/outcome-checks.ts';

/**
 * `kill <pid>` of `npm start` while an institution is sending: requests in flight finish with a
 * complete answer, later ones are refused at connect (or reset unread, see below), the process
 * exits 0, and a start on the same data folder finishes every acknowledged message — none lost,
 * none doubled, none stalled.
 */
const N = 300;
const IN_FLIGHT = 20;
/** SIGTERM once this many answers have come back: the middle of the burst. */
const SIGTERM_AFTER = 120;
/** How long the restarted system may take to finish what the first one left queued. */
const DRAIN_MS = 90_000;

interface Sent {
  key: string;
  sentAt: number;
  doneAt: number;
  outcome: PostOutcome;
}

describe('SIGTERM to npm start under load', () => {
  let dataDir: string | undefined;
  let running: SystemProcess | undefined;
  afterAll(async () => {
    await stopIfRunning(running);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it(
    'finishes in-flight requests, exits 0, and the next start stores every acknowledged message once',
    { timeout: 180_000 },
    async () => {
      dataDir = await mkdtemp(path.join(os.tmpdir(), 'hie-test-sigterm-'));
      const port = await freePort();
      const env = {
        HIE_DATA_DIR: dataDir,
        PORT: String(port),
        MLLP_PORT: String(await freePort()),
        HIE_LOG_LEVEL: 'info',
        HIE_DEMO_COUNTY: 'off',
      };
      const url = `http://localhost:${port}`;
      const first = startSystem(env);
      running = first;
      await waitReady(first, url, 120_000);
      const institutionToken = await hieToken(['token', 'institution', CPH], env);
      const adminToken = await hieToken(['token', 'admin'], env);

      // The burst: IN_FLIGHT senders, each posting the next message as soon as it has its answer.
      const sent: Sent[] = [];
      const inFlight = new Set<string>();
      let inFlightAtSigterm: string[] = [];
      let answered = 0;
      let tSigterm = 0;
      let next = 0;
      const sender = async () => {
        while (next < N) {
          const key = `ST${next++}`;
          const sentAt = Date.now();
          inFlight.add(key);
          const outcome = await postOnce(
            `http://127.0.0.1:${port}/ingest/hl7v2`,
            {
              authorization: `Bearer ${institutionToken}`,
              'content-type': 'x-application/hl7-v2+er7; charset=UTF-8',
            },
            adtA01(key),
          );
          inFlight.delete(key);
          sent.push({ key, sentAt, doneAt: Date.now(), outcome });
          if (outcome.kind === 'answered' && ++answered === SIGTERM_AFTER) {
            inFlightAtSigterm = [...inFlight];
            tSigterm = Date.now();
            first.child.kill('SIGTERM');
          }
        }
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, sender));
      const exit = await first.exited;
      const shutdownMs = Date.now() - tSigterm;
      running = undefined;

      // The process stopped cleanly.
      expect(exit, first.log().slice(-3000)).toEqual({ code: 0, signal: null });
      expect(tSigterm).toBeGreaterThan(0);

      // Every request got a complete answer, or none at all: refused at connect, or reset unread.
      // A connection whose handshake the kernel completed but Node had not yet accepted when the
      // listener closed is reset by the kernel (ECONNRESET before any byte of an answer): the
      // gateway never read that request, so it must not be in the archive (checked below), and
      // the sender resends it like a refused one. Nothing was cut after the server read it: no
      // partial answer, and the drain never had to close connections still open.
      expect(sent).toHaveLength(N);
      const cut = sent.filter(
        (s): s is Sent & { outcome: Extract<PostOutcome, { kind: 'cut' }> } => s.outcome.kind === 'cut',
      );
      expect(
        cut
          .filter((s) => s.outcome.gotHeaders || !s.outcome.error.startsWith('ECONNRESET'))
          .map((s) => `${s.key}: ${JSON.stringify(s.outcome)}`),
      ).toEqual([]);
      // The in-process worker stops before the drain (a client of this very server): otherwise its
      // writes over keep-alive sockets would hold the drain to its limit and be cut there.
      expect(first.log()).not.toContain('requests still open after the drain period');
      const answers = sent.filter(
        (s): s is Sent & { outcome: Extract<PostOutcome, { kind: 'answered' }> } =>
          s.outcome.kind === 'answered',
      );
      const refused = sent.filter((s) => s.outcome.kind === 'refused');
      // …and every answer is an acknowledgement of that very message, with its Location.
      const notAa = answers.filter((s) => {
        const ack = readAck(s.outcome.body);
        return !(
          s.outcome.status === 200 &&
          ack?.code === 'AA' &&
          ack.controlId === s.key &&
          /^\/ingest\/messages\/[0-9a-f-]{36}$/.test(s.outcome.location ?? '')
        );
      });
      expect(notAa.map((s) => `${s.key}: ${s.outcome.status} ${s.outcome.body.slice(0, 200)}`)).toEqual([]);
      // Refusals only after the signal; every request in flight at the signal was answered.
      expect(refused.filter((s) => s.sentAt < tSigterm).map((s) => s.key)).toEqual([]);
      expect(inFlightAtSigterm.length).toBeGreaterThan(0);
      const answeredKeys = new Set(answers.map((s) => s.key));
      const resetKeys = new Set(cut.map((s) => s.key));
      expect(inFlightAtSigterm.filter((k) => !answeredKeys.has(k) && !resetKeys.has(k))).toEqual([]);
      // Resets come as the listener closes, not from the drain giving up on open connections later.
      expect(cut.filter((s) => s.doneAt - tSigterm > 5_000).map((s) => s.key)).toEqual([]);
      expect(refused.length).toBeGreaterThan(0);
      expect(answers.length + refused.length + cut.length).toBe(N);

      // A start on the same data folder: every acknowledged message reaches `stored`.
      const second = startSystem(env);
      running = second;
      await waitReady(second, url, 120_000);
      const reader = systemReader(url, adminToken);
      const queuedAtReady = (await reader.messages('queued')).length;
      const drainMs = await reader.drained(DRAIN_MS);
      expect(await reader.messages('failed')).toEqual([]);
      const stored = await reader.messages('stored');
      expect(stored.every((m) => m.institution === CPH)).toBe(true);
      // Exactly the acknowledged ones: nothing of a refused or reset request was archived.
      expect(stored.map((m) => m.controlId).sort()).toEqual([...answeredKeys].sort());

      // The repository: one Patient per acknowledged MRN, one Encounter per visit, nothing else.
      const ackedKeys = [...answeredKeys];
      expect(await reader.byIdentifier('Patient', MRN_SYSTEM)).toEqual(
        Object.fromEntries(ackedKeys.map((k) => [k, 1])),
      );
      expect(await reader.byIdentifier('Encounter', VISIT_SYSTEM)).toEqual(
        Object.fromEntries(ackedKeys.map((k) => [`V${k}`, 1])),
      );

      // One Provenance per acknowledged message: no write was done twice.
      expect(await reader.provenances()).toBe(answeredKeys.size);
      const attempts = await writeAttempts(dataDir);
      // A clean stop and start cost no message an attempt: the stopping worker finished its jobs,
      // and the new one, started before its own server listens, waited for it without counting.
      expect(attempts).toEqual({ '1': answeredKeys.size });
      // No job was left stalled: BullMQ counts every time it had to take a job back from a
      // worker that stopped holding it; jobs of both runs are kept (completed) in the AOF Redis.
      const jobs = await queueJobs(dataDir);
      expect(jobs.unfinished).toBe(0);
      expect(jobs.stalled).toEqual([]);
      expect(jobs.completed).toBe(answeredKeys.size);

      // And this one stops cleanly too.
      second.child.kill('SIGTERM');
      expect(await second.exited).toEqual({ code: 0, signal: null });
      running = undefined;

      console.info(
        `[sigterm] ${N} sent, ${answers.length} acknowledged (${inFlightAtSigterm.length} in flight at SIGTERM), ` +
          `${refused.length} refused at connect, ${cut.length} reset unread; exit after ${shutdownMs} ms; ` +
          `restart: ${queuedAtReady} queued at ready, all stored ${drainMs} ms after ready; ` +
          `write attempts per message: ${JSON.stringify(attempts)}; ${jobs.completed} jobs completed, none stalled`,
      );
    },
  );
});

/** How many write attempts the messages took (attempts → messages), read from the running system's database. */
async function writeAttempts(dataDir: string): Promise<Record<string, number>> {
  const runtime = await readRuntimeFile(dataDir);
  const client = new pg.Client({ connectionString: runtime!.databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ attempts: number; n: number }>(
      'SELECT attempts, count(*)::int AS n FROM inbound_message GROUP BY attempts ORDER BY attempts',
    );
    return Object.fromEntries(rows.map((r) => [String(r.attempts), r.n]));
  } finally {
    await client.end();
  }
}

/** The ingest queue as the running system left it: jobs not finished, jobs that stalled, jobs completed. */
async function queueJobs(
  dataDir: string,
): Promise<{ unfinished: number; stalled: string[]; completed: number }> {
  const runtime = await readRuntimeFile(dataDir);
  const queue = new Queue(INGEST_QUEUE, { connection: { url: runtime!.redisUrl }, prefix: DEFAULT_PREFIX });
  try {
    const counts = await queue.getJobCounts(
      'active',
      'wait',
      'delayed',
      'prioritized',
      'failed',
      'completed',
    );
    const jobs = await queue.getJobs(['completed', 'failed', 'active', 'wait', 'delayed']);
    return {
      unfinished:
        (counts.active ?? 0) +
        (counts.wait ?? 0) +
        (counts.delayed ?? 0) +
        (counts.prioritized ?? 0) +
        (counts.failed ?? 0),
      stalled: jobs.filter((j) => j.stalledCounter > 0).map((j) => `${j.id} stalled ${j.stalledCounter}×`),
      completed: counts.completed ?? 0,
    };
  } finally {
    await queue.close();
  }
}
