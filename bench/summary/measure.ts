/**
 * The two measurements the issue compares: `$summary` over HTTP (token check, policy, SQL,
 * document building, JSON, audit) and the same rows read straight from PostgreSQL with the
 * summary's own selection SQL (`selectEntries`), each at a given number of concurrent clients.
 */
import os from 'node:os';
import { gunzipSync } from 'node:zlib';
import type { Database } from '../../src/db/database.ts';
import { selectEntries } from '../../src/summary/select-entries.ts';
import { cpuMeter } from '../support/machine.ts';
import { round, runPool, summarize, type LatencySummary } from '../support/stats.ts';
import type { ServerProcess } from '../support/server-process.ts';

/** What browsers, fetch and the FHIR client libraries send: compressed answers are welcome. */
export const CLIENT_HEADERS = { 'accept-encoding': 'gzip' };

export interface LevelResult {
  clients: number;
  requests: number;
  ms: LatencySummary;
  perSecond: number;
  /** Busy share of all cores during the level (app, PostgreSQL and load generator together). */
  machineCpuBusyPct: number;
  /** The load generator's own share of all cores during the level (this process). */
  loadGeneratorCpuPct: number;
  errors: number;
  /** Status → count of the non-200 answers, if any. */
  statuses: Record<string, number>;
}

/** `count` summaries with `clients` in flight; every answer must be a 200 document to count as one. */
export async function summaryLevel(
  server: ServerProcess,
  url: string,
  count: number,
  clients: number,
): Promise<LevelResult> {
  const statuses: Record<string, number> = {};
  const cpu = cpuMeter();
  const own = ownCpuMeter();
  const started = performance.now();
  let n = 0;
  const samples = await runPool(count, clients, async () => {
    const r = await server.http.requestRaw('GET', url, CLIENT_HEADERS);
    // Every answer is read to its last byte; one in CHECK_EVERY is decoded and must be the
    // document (decoding them all would spend on the load generator the cores the server needs).
    const checked = n++ % CHECK_EVERY !== 0 || isDocument(r.wire, r.contentEncoding);
    if (r.status !== 200 || !checked) {
      const k = r.status !== 200 ? String(r.status) : 'not a document';
      statuses[k] = (statuses[k] ?? 0) + 1;
    }
    return r.ms;
  });
  const seconds = (performance.now() - started) / 1000;
  const errors = Object.values(statuses).reduce((a, b) => a + b, 0);
  return {
    clients,
    requests: count,
    ms: summarize(samples),
    perSecond: round(count / seconds, 1),
    machineCpuBusyPct: cpu(),
    loadGeneratorCpuPct: own(),
    errors,
    statuses,
  };
}

const CHECK_EVERY = 25;

function isDocument(wire: Buffer, encoding: string | undefined): boolean {
  try {
    const text = (encoding === 'gzip' ? gunzipSync(wire) : wire).toString('utf8');
    const bundle = JSON.parse(text) as { resourceType?: string; type?: string };
    return bundle.resourceType === 'Bundle' && bundle.type === 'document';
  } catch {
    return false;
  }
}

/** This process's CPU as a share of all the machine's cores, from now until called. */
function ownCpuMeter(): () => number {
  const cores = os.availableParallelism();
  const start = process.cpuUsage();
  const t = performance.now();
  return () => {
    const used = process.cpuUsage(start);
    const ms = (used.user + used.system) / 1000;
    return round((100 * ms) / ((performance.now() - t) * cores), 1);
  };
}

/** The summary's selection SQL on its own: what PostgreSQL and the driver cost for the same rows. */
export async function rawLevel(
  db: Database,
  sourceIds: string[],
  asOf: Date,
  count: number,
  clients: number,
): Promise<LevelResult> {
  const cpu = cpuMeter();
  const own = ownCpuMeter();
  const started = performance.now();
  const samples = await runPool(count, clients, async () => {
    const t = performance.now();
    await selectEntries(db, sourceIds, asOf);
    return performance.now() - t;
  });
  const seconds = (performance.now() - started) / 1000;
  return {
    clients,
    requests: count,
    ms: summarize(samples),
    perSecond: round(count / seconds, 1),
    machineCpuBusyPct: cpu(),
    loadGeneratorCpuPct: own(),
    errors: 0,
    statuses: {},
  };
}

/** Rows the selection returns per section (before the summary merges duplicates). */
export async function selectedRows(
  db: Database,
  sourceIds: string[],
  asOf: Date,
): Promise<Record<string, number>> {
  const s = await selectEntries(db, sourceIds, asOf);
  return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v.length]));
}

type Json = Record<string, any>;

/** What one document holds: entries per section (after merging), Bundle entries, bytes. */
export function documentShape(body: string): {
  sections: Record<string, number>;
  bundleEntries: number;
  bytes: number;
} {
  const doc = JSON.parse(body) as Json;
  const composition = doc.entry?.[0]?.resource ?? {};
  const sections: Record<string, number> = {};
  for (const s of composition.section ?? []) {
    sections[`${s.code?.coding?.[0]?.code} ${s.title}`] = s.entry?.length ?? 0;
  }
  return { sections, bundleEntries: doc.entry?.length ?? 0, bytes: Buffer.byteLength(body) };
}
