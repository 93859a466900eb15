/**
 * One measured phase: send a set of messages (closed or open loop), wait until the archive says
 * every one is final, then read the figures: rates, latencies, BullMQ wait/run, CPU per message
 * in each process, and a FHIR search spot-check that the data is really searchable.
 */
import type pg from 'pg';
import type { HttpClient } from '../support/http-client.ts';
import { cpuMeter } from '../support/machine.ts';
import { type LatencySummary, round, summarize } from '../support/stats.ts';
import type { Child, Usage } from './child-ipc.ts';
import { closedLoop, openLoop, type SendRecord, type Sender } from './load.ts';
import type { BenchMessage } from './messages.ts';
import { ArchiveWatch, jobTimes, processTreeCpuMs, redisCpuMs } from './observe.ts';

export interface System {
  children: Child<unknown>[];
  pool: pg.Pool;
  postmasterPid: number | undefined;
  redisUrl: string;
  prefix: string;
  /** Admin client on the gateway (spot-check searches). */
  admin: HttpClient;
  fhirUrl: string;
  canonicalBase: string;
  institutionId: string;
}

export type Mode = { inFlight: number } | { rate: number };

export interface PhaseResult {
  name: string;
  messages: number;
  mode: Mode;
  complete: boolean;
  codes: Record<string, number>;
  failed: number;
  /** Acknowledgements per second (the gateway alone). */
  ackRate: number;
  /** First send → last message stored. */
  endToEndRate: number;
  ackMs: LatencySummary;
  /** Due (client) → archive row `stored` (PostgreSQL clock), i.e. searchable. */
  receiveToSearchableMs: LatencySummary;
  /** Server-side: archive row created → stored. */
  archivedToStoredMs: LatencySummary;
  queueWaitMs: LatencySummary;
  jobRunMs: LatencySummary;
  /** CPU ms per message by process (user + system). */
  cpuMsPerMessage: Record<string, number>;
  /** Busy share of the machine's cores during the phase (percent). */
  machineBusyPct: number;
  /** `misses`: what a search that did not find exactly one resource answered (status, entries). */
  spotCheck: { found: number; of: number; searchMs: number[]; misses: string[] };
}

type Snapshot = Record<string, number>;

async function snapshot(sys: System): Promise<Snapshot> {
  const s: Snapshot = {};
  await Promise.all(
    sys.children.map(async (c) => {
      const u = await c.call<Usage>('usage');
      s[c.name] = (u.userUs + u.systemUs) / 1000;
    }),
  );
  if (sys.postmasterPid) s.postgres = await processTreeCpuMs(sys.postmasterPid);
  s.redis = await redisCpuMs(sys.redisUrl);
  return s;
}

export async function runPhase(
  sys: System,
  name: string,
  messages: BenchMessage[],
  sender: Sender,
  mode: Mode,
  settleTimeoutMs: number,
): Promise<PhaseResult> {
  const first = messages[0]!.controlId;
  // The phase's prefix, dash included: stripping the trailing number alone also stripped a tag
  // that ended in a digit, and the watch then counted the previous phase's last rows as this one's.
  const tag = first.slice(0, first.lastIndexOf('-') + 1);
  const before = await snapshot(sys);
  const since = Date.now();
  const busy = cpuMeter();
  const watch = new ArchiveWatch(sys.pool, since, tag);
  const records: SendRecord[] =
    'inFlight' in mode
      ? await closedLoop(sender, messages, mode.inFlight)
      : await openLoop(sender, messages, mode.rate);
  const acked = Date.now();
  const settled = await watch.settled(messages.length, settleTimeoutMs);
  const machineBusyPct = busy();
  const after = await snapshot(sys);
  const rows = await watch.rows();
  const jobs = await jobTimes(sys.redisUrl, sys.prefix, since);

  const due = new Map(records.map((r) => [r.controlId, r.dueAt]));
  const stored = rows.filter((r) => r.state === 'stored');
  const lastStored = Math.max(...stored.map((r) => r.updatedAt));
  const firstDue = Math.min(...records.map((r) => r.dueAt));
  const codes: Record<string, number> = {};
  for (const r of records) codes[r.code] = (codes[r.code] ?? 0) + 1;
  const cpu: Record<string, number> = {};
  for (const k of Object.keys(after))
    cpu[k] = round(((after[k] ?? 0) - (before[k] ?? 0)) / messages.length, 3);

  return {
    name,
    messages: messages.length,
    mode,
    complete: settled.complete,
    codes,
    failed: rows.filter((r) => r.state === 'failed').length,
    ackRate: round((messages.length * 1000) / Math.max(1, acked - firstDue), 1),
    endToEndRate: round((stored.length * 1000) / Math.max(1, lastStored - firstDue), 1),
    ackMs: summarize(records.map((r) => r.ackMs)),
    receiveToSearchableMs: summarize(stored.map((r) => r.updatedAt - (due.get(r.controlId) ?? r.receivedAt))),
    archivedToStoredMs: summarize(stored.map((r) => r.updatedAt - r.receivedAt)),
    queueWaitMs: summarize(jobs.waitMs),
    jobRunMs: summarize(jobs.runMs),
    cpuMsPerMessage: cpu,
    machineBusyPct,
    spotCheck: await spotCheck(sys, messages),
  };
}

/** Five messages of the phase, looked up by identifier through the FHIR search API. */
async function spotCheck(sys: System, messages: BenchMessage[]): Promise<PhaseResult['spotCheck']> {
  const picks = [0, 0.25, 0.5, 0.75, 1].map((f) => messages[Math.floor(f * (messages.length - 1))]!);
  let found = 0;
  const searchMs: number[] = [];
  const misses: string[] = [];
  for (const m of picks) {
    const system = `${sys.canonicalBase}/sid/${m.search.sid}/${sys.institutionId}`;
    const q = `identifier=${encodeURIComponent(`${system}|${m.search.value}`)}`;
    const r = await sys.admin.request('GET', `${sys.fhirUrl}/${m.search.type}?${q}`);
    searchMs.push(round(r.ms, 1));
    const total = r.status === 200 ? ((JSON.parse(r.body) as { entry?: unknown[] }).entry?.length ?? 0) : 0;
    if (total === 1) found++;
    else
      misses.push(
        `${m.search.type} ${m.search.value}: HTTP ${r.status}, ${total} entries ${r.body.slice(0, 300)}`,
      );
  }
  return { found, of: picks.length, searchMs, misses };
}
