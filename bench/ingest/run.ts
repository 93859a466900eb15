/**
 * `npm run bench:ingest`: the ingestion gateway end to end — HL7 v2 ADT^A01 and ORU^R01 over HTTP
 * and MLLP, at saturation and at 80 % of it; CPU per message in gateway, repository and worker;
 * queue time against the write itself and against writing straight to the repository; a CPU
 * profile of the write path. Quick by default (a few minutes on 2 cores), `BENCH_SIZE=full` for
 * more. `BENCH_LAYOUT=product` serves the repository from the gateway process as `npm start` does.
 * Prints figures and writes bench/results/ingest-<timestamp>.json; it never asserts a timing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PostgresInstitutionRegistry } from '../../src/institutions/postgres-registry.ts';
import { Database } from '../../src/db/database.ts';
import { silentLogger } from '../../src/kernel/logger.ts';
import { loadFhirModel } from '../../src/repository/fhir-model.ts';
import { serverSettings } from '../support/bench-postgres.ts';
import { machineFacts } from '../support/machine.ts';
import { writeResults } from '../support/results.ts';
import { round, summarize } from '../support/stats.ts';
import { writeDirect } from './direct.ts';
import { httpSender, mllpSender, type Sender, type Transport } from './load.ts';
import { adtA01, oruR01, type BenchMessage, type MessageKind } from './messages.ts';
import { runPhase, type PhaseResult } from './phase.ts';
import { profileWritePath } from './profile-phase.ts';
import { goalRows, printGoals, printPhases, printProfile } from './report.ts';
import type { ProfileResult } from './profile-phase.ts';
import { INSTITUTION, startSystem } from './system.ts';

const FULL = process.env.BENCH_SIZE === 'full';
const SCALE = Number(process.env.BENCH_SCALE) || 1;
const n = (x: number) => Math.max(20, Math.round(x * SCALE));
const SIZE = FULL
  ? { warmup: 300, sat: { 'ADT^A01': 3000, 'ORU^R01': 1500 }, loadSeconds: 60, direct: 1000, profile: 2000 }
  : { warmup: 100, sat: { 'ADT^A01': 600, 'ORU^R01': 300 }, loadSeconds: 10, direct: 200, profile: 800 };
const IN_FLIGHT = 32;
const MLLP_CONNECTIONS = 4;
const LAYOUT = process.env.BENCH_LAYOUT === 'product' ? 'product' : 'split';
const RUN = Math.random().toString(36).slice(2, 6);

const logger = silentLogger();
const machine = machineFacts();
console.log(
  `bench:ingest — ${FULL ? 'full' : 'quick'} size, layout ${LAYOUT}, ${machine.cpus} × ${machine.cpuModel}`,
);
const sys = await startSystem(logger, LAYOUT);
// Ctrl-C still stops what was started (children, the temp PostgreSQL, this run's Redis keys).
process.once('SIGINT', () => void sys.close().finally(() => process.exit(130)));
let tagNo = 0;
const nextTag = () => `${RUN}${(tagNo++).toString(36)}`;
/** ADT patients of this run, for the ORU messages to report on. */
const admitted: { tag: string; n: number }[] = [];
let oruNo = 0;

function generate(kind: MessageKind, count: number): BenchMessage[] {
  const tag = nextTag();
  const now = Date.now();
  return Array.from({ length: count }, (_, i) => {
    if (kind === 'ADT^A01') {
      admitted.push({ tag, n: i });
      return adtA01(tag, i, now);
    }
    return oruR01(tag, i, admitted[oruNo++ % admitted.length]!, now + 1_000);
  });
}

function sender(t: Transport, sockets: number): Sender {
  return t === 'http'
    ? httpSender(sys.gateway.info.url, sys.institutionToken, sockets)
    : mllpSender(sys.gateway.info.mllpPort!, MLLP_CONNECTIONS);
}

const phases: PhaseResult[] = [];
async function phase(
  name: string,
  kind: MessageKind,
  t: Transport,
  count: number,
  mode: { inFlight: number } | { rate: number },
) {
  const s = sender(t, 'inFlight' in mode ? mode.inFlight : 64);
  try {
    const r = await runPhase(sys, name, generate(kind, count), s, mode, 120_000 + count * 50);
    phases.push(r);
    console.log(
      `  ${name}: ${r.endToEndRate} msg/s end to end, ack ${r.ackRate}/s, p95 ${r.receiveToSearchableMs.p95} ms` +
        `${r.complete ? '' : ' (INCOMPLETE)'}; codes ${JSON.stringify(r.codes)}`,
    );
    return r;
  } finally {
    await s.close();
  }
}

const results: Record<string, unknown> = {};
try {
  results.settings = await serverSettings(sys.databaseUrl);
  console.log('warm-up …');
  await phase('warm-up ADT http', 'ADT^A01', 'http', n(SIZE.warmup), { inFlight: 8 });
  await phase('warm-up ORU http', 'ORU^R01', 'http', n(SIZE.warmup / 2), { inFlight: 8 });
  phases.length = 0;
  // The statistics of a database that has been running: a fresh one knows no Observations until
  // autovacuum analyses it, and its look-ups would be measured on plans no running exchange has.
  const warm = new Database(sys.databaseUrl, { logger, max: 1 });
  await warm.query('ANALYZE');
  await warm.close();

  const kinds: MessageKind[] = ['ADT^A01', 'ORU^R01'];
  const transports: Transport[] = ['http', 'mllp'];
  // Each fixed load follows its own saturation phase at once: this machine's speed drifts by up to
  // a third over minutes, and a rate measured four phases earlier could be all it had by then.
  for (const kind of kinds)
    for (const t of transports) {
      const sat = await phase(`${kind} ${t} saturation`, kind, t, n(SIZE.sat[kind]), { inFlight: IN_FLIGHT });
      const rate = Math.max(5, round(0.8 * sat.endToEndRate, 0));
      await phase(
        `${kind} ${t} @${rate}/s`,
        kind,
        t,
        Math.max(20, Math.round(rate * SIZE.loadSeconds * SCALE)),
        { rate },
      );
    }

  console.log('writing straight to the repository (no gateway, no queue) …');
  const db = new Database(sys.databaseUrl, { logger, max: 1 });
  const institution = (await new PostgresInstitutionRegistry(db).get(INSTITUTION))!;
  await db.close();
  const model = loadFhirModel();
  const direct: Record<string, unknown> = {};
  for (const kind of kinds) {
    const before = await sys.repository.call<{ userUs: number; systemUs: number }>('usage');
    const r = await writeDirect({
      messages: generate(kind, n(SIZE.direct)),
      institution,
      model,
      canonicalBase: sys.canonicalBase,
      publicUrl: sys.repository.info.url,
      signingKey: sys.signingKey,
      concurrency: 8,
    });
    const after = await sys.repository.call<{ userUs: number; systemUs: number }>('usage');
    const cpu = (after.userUs + after.systemUs - before.userUs - before.systemUs) / 1000 / r.count;
    direct[kind] = {
      count: r.count,
      failed: r.failed,
      rate: round((r.count * 1000) / r.wallMs, 1),
      writeMs: summarize(r.writeMs),
      repositoryCpuMsPerMessage: round(cpu, 3),
    };
    console.log(`  ${kind}: ${JSON.stringify(direct[kind])}`);
  }
  results.direct = direct;

  console.log(`CPU profile while writing ${n(SIZE.profile)} ADT^A01 …`);
  const profDir = await mkdtemp(path.join(os.tmpdir(), 'hie-bench-ingest-prof-'));
  try {
    results.profile = await profileWritePath(sys, profDir, () =>
      phase('ADT^A01 http (profiled)', 'ADT^A01', 'http', n(SIZE.profile), { inFlight: IN_FLIGHT }),
    );
  } finally {
    if (process.env.BENCH_KEEP_PROFILES) console.log(`profiles kept in ${profDir}`);
    else await rm(profDir, { recursive: true, force: true });
  }

  printPhases(phases);
  printProfile(results.profile as ProfileResult);
  const goals = goalRows(phases, results.profile as ProfileResult);
  printGoals(goals);
  results.goals = goals;
  const file = await writeResults('ingest', {
    when: new Date().toISOString(),
    size: FULL ? 'full' : 'quick',
    scale: SCALE,
    layout: LAYOUT,
    machine,
    where: sys.where,
    logLevel: process.env.HIE_LOG_LEVEL ?? 'info (product default)',
    workerConcurrency: process.env.BENCH_WORKER_CONCURRENCY ?? 'product default (8)',
    ...results,
    phases,
  });
  console.log(`\nwritten to ${file}`);
} finally {
  await sys.close();
}
