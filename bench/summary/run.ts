/**
 * `npm run bench:summary`: `GET /fhir/Patient/{id}/$summary` for a person with about 1,000
 * resources from five institutions, on a store of 10,000 persons (quick; `BENCH_SIZE=full`
 * 50,000), asked by a clinician of an institution that saw the person six days ago — through the
 * real app: token check, scopes, the access policy as the app wires it, the audit trail.
 * Figures: p50/p95/p99 at 1 client, summaries/s at 8 and 50, entries selected, the same rows read
 * straight from PostgreSQL with the summary's selection SQL and the ratio, where the time goes.
 * The server dates the summary by its wall clock, so the data are anchored to the run's day
 * (BENCH_AS_OF=YYYY-MM-DD to pin it); the same day and BENCH_SEED give the same store.
 * Prints figures and writes them to bench/results/; it never asserts a timing.
 */
import { Database } from '../../src/db/database.ts';
import { migrate } from '../../src/db/migrate.ts';
import { loadMatchRules } from '../../src/identity/match/rules.ts';
import { seedInstitutions } from '../../src/institutions/seed.ts';
import { createLogger } from '../../src/kernel/logger.ts';
import { loadFhirModel } from '../../src/repository/fhir-model.ts';
import { openBenchPostgres, serverSettings } from '../support/bench-postgres.ts';
import { machineFacts } from '../support/machine.ts';
import { writeResults } from '../support/results.ts';
import { fmt, printTable, round } from '../support/stats.ts';
import {
  CLIENT_HEADERS,
  documentShape,
  rawLevel,
  selectedRows,
  summaryLevel,
  type LevelResult,
} from './measure.ts';
import { profileStages } from './profile.ts';
import { seedStore } from './seed-store.ts';
import { startServerProcess, type ServerProcess } from '../support/server-process.ts';
import { targetPerson } from './target-person.ts';

const FULL = process.env.BENCH_SIZE === 'full';
const SIZE = FULL
  ? { persons: 50_000, oneClient: 1000, perLevel: 2000, raw: 1000, profile: 100 }
  : { persons: 10_000, oneClient: 300, perLevel: 600, raw: 300, profile: 40 };
const LEVELS = [8, 50];
const WARM_UP = 30;
const SEED = Number(process.env.BENCH_SEED ?? 7);
const AS_OF = new Date(`${process.env.BENCH_AS_OF ?? new Date().toISOString().slice(0, 10)}T00:00:00Z`);
const GOALS = { p95Ms: 100, perSecondAt8: 100 };

const started = performance.now();
const elapsed = () => `${Math.round((performance.now() - started) / 1000)} s`;
const machine = machineFacts();
console.log(
  `Summary benchmark (${FULL ? 'full' : 'quick'} size); data as of ${AS_OF.toISOString().slice(0, 10)}, seed ${SEED}`,
);
console.log(
  `machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.totalMemoryGiB} GiB, Node ${machine.node}, ${machine.platform}; load average ${machine.loadAverage1m} at start`,
);

const pg = await openBenchPostgres(createLogger('error'));
const pools: Database[] = [];
let server: ServerProcess | undefined;
let cleaning: Promise<void> | undefined;
const cleanup = () =>
  (cleaning ??= (async () => {
    await server?.stop().catch(() => undefined);
    for (const p of pools) await p.close().catch(() => undefined);
    await pg.close();
  })());
// Ctrl-C still drops the bench database and stops the embedded server.
process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));

try {
  const url = await pg.createDatabase('summary');
  const settings = await serverSettings(url);
  console.log(`postgres: ${pg.where}`);
  console.log(
    `  version ${settings.version}; fsync=${settings.fsync}, synchronous_commit=${settings.synchronous_commit}, full_page_writes=${settings.full_page_writes}, shared_buffers=${settings.shared_buffers}`,
  );
  const db = new Database(url, { max: 8, applicationName: 'county-hie-bench-summary-seed' });
  pools.push(db);
  await migrate(db);
  await seedInstitutions(db);

  // ── Seed ─────────────────────────────────────────────────────────────────────────────────
  const model = loadFhirModel();
  const target = targetPerson(AS_OF, SEED);
  const byType = countBy(target.resources.map((r) => r.resourceType));
  console.log(
    `\n[${elapsed()}] seeding ${fmt(SIZE.persons)} persons and the target person (${fmt(target.resources.length)} resources from 5 institutions: ${Object.entries(
      byType,
    )
      .map(([t, n]) => `${t} ${n}`)
      .join(', ')})`,
  );
  const seeded = await seedStore(db, model, target, {
    persons: SIZE.persons,
    asOf: AS_OF,
    seed: SEED,
    rules: loadMatchRules(),
    onProgress: (n) => {
      if (n % 2500 === 0) console.log(`  [${elapsed()}] ${fmt(n)} persons`);
    },
  });
  await db.query('CHECKPOINT').catch(() => undefined);
  const store = (
    await db.query(
      `SELECT (SELECT count(*)::int FROM resource) AS resources, (SELECT count(*)::int FROM identity_record) AS records,
              pg_size_pretty(pg_database_size(current_database())) AS size`,
    )
  ).rows[0];
  console.log(
    `  ${fmt(seeded.persons)} persons, ${fmt(seeded.sourcePatients)} source Patients, ${fmt(seeded.resources)} resources in ${seeded.seconds} s = ${fmt(seeded.resourcesPerSecond)} resources/s (writeNewResources + identity writeBatch, ANALYZE)`,
  );
  console.log(
    `  store: ${fmt(store.resources)} resources, ${fmt(store.records)} identity records, database ${store.size}`,
  );

  // ── Serve the real app, ask as a clinician ───────────────────────────────────────────────
  server = await startServerProcess(url, Math.max(...LEVELS), { clinicianOf: target.viewer });
  const asked = target.sourceIds.village;
  const summaryUrl = `${server.fhirUrl}/Patient/${asked}/$summary`;
  console.log(
    `\n[${elapsed()}] GET ${summaryUrl.replace(server.fhirUrl, '/fhir')} as a clinician of ${target.viewer}`,
  );
  const first = await server.http.request('GET', summaryUrl, undefined, CLIENT_HEADERS);
  if (first.status !== 200) throw new Error(`$summary answered ${first.status}: ${first.body.slice(0, 500)}`);
  const shape = documentShape(first.body);
  const rows = await selectedRows(db, Object.values(target.sourceIds), AS_OF);
  const rowsTotal = Object.values(rows).reduce((a, b) => a + b, 0);
  const entriesTotal = Object.values(shape.sections).reduce((a, b) => a + b, 0);
  console.log(
    `  selected by the IPS rules in SQL: ${fmt(rowsTotal)} rows of ${fmt(target.resources.length)} (${Object.entries(
      rows,
    )
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')})`,
  );
  console.log(
    `  in the document: ${fmt(entriesTotal)} section entries after merging duplicates, ${fmt(shape.bundleEntries)} Bundle entries (with Provenances), ${fmt(Math.round(shape.bytes / 1024))} KiB`,
  );
  for (const [s, n] of Object.entries(shape.sections)) console.log(`    ${s}: ${n}`);
  const again = await server.http.request('GET', summaryUrl, undefined, CLIENT_HEADERS);
  console.log(
    `  on the wire (Accept-Encoding: gzip): first answer ${fmt(Math.round(first.wireBytes / 1024))} KiB ${first.contentEncoding ?? 'identity'}, then ${fmt(Math.round(again.wireBytes / 1024))} KiB ${again.contentEncoding ?? 'identity'} (kept summary)`,
  );

  for (let i = 0; i < WARM_UP; i++) await server.http.request('GET', summaryUrl);
  console.log(`[${elapsed()}] measuring: 1 client, then ${LEVELS.join(' and ')} clients`);
  const levels: LevelResult[] = [await summaryLevel(server, summaryUrl, SIZE.oneClient, 1)];
  for (const clients of LEVELS) levels.push(await summaryLevel(server, summaryUrl, SIZE.perLevel, clients));
  const usage = await server.usage();
  await server.stop();
  server = undefined;

  console.log(`[${elapsed()}] measuring again with every summary built anew`);
  // ── The same without kept summaries: every request selects, merges and serialises anew ──
  // (what the first request after a change to the person's record costs).
  server = await startServerProcess(url, Math.max(...LEVELS), {
    clinicianOf: target.viewer,
    env: { HIE_SUMMARY_CACHE_SECONDS: '0' },
  });
  const uncachedUrl = `${server.fhirUrl}/Patient/${asked}/$summary`;
  for (let i = 0; i < WARM_UP / 3; i++) await server.http.request('GET', uncachedUrl);
  const uncached: LevelResult[] = [
    await summaryLevel(server, uncachedUrl, Math.round(SIZE.oneClient / 3), 1),
    await summaryLevel(server, uncachedUrl, Math.round(SIZE.perLevel / 3), 8),
  ];
  await server.stop();
  server = undefined;

  // ── The same rows straight from PostgreSQL ───────────────────────────────────────────────
  const rawDb = new Database(url, {
    max: Math.max(...LEVELS),
    applicationName: 'county-hie-bench-summary-raw',
  });
  pools.push(rawDb);
  const ids = Object.values(target.sourceIds);
  for (let i = 0; i < WARM_UP; i++) await rawLevel(rawDb, ids, AS_OF, 1, 1);
  const raw: LevelResult[] = [await rawLevel(rawDb, ids, AS_OF, SIZE.raw, 1)];
  for (const clients of LEVELS) raw.push(await rawLevel(rawDb, ids, AS_OF, SIZE.raw * 2, clients));

  console.log(
    `\n[${elapsed()}] $summary over HTTP (clinician token, policy, audit) vs the selection SQL alone:`,
  );
  printTable([
    [
      'clients',
      'what',
      'requests',
      'p50 ms',
      'p95 ms',
      'p99 ms',
      'max ms',
      'per s',
      'CPU busy %',
      'of it bench %',
      'errors',
    ],
    ...levels.flatMap((l, i) => {
      const r = raw[i]!;
      return [
        [l.clients, '$summary', ...levelFigures(l), l.errors],
        [r.clients, 'raw SQL', ...levelFigures(r), '-'],
      ];
    }),
  ]);
  console.log(
    `  $summary answers are read to the last byte but not decoded (one in 25 is decoded and must be the document): the load generator shares the cores with the server; "of it bench %" is its own share.`,
  );
  console.log(
    `  $summary built on every request (HIE_SUMMARY_CACHE_SECONDS=0), as after a change to the record:`,
  );
  printTable([
    [
      'clients',
      'requests',
      'p50 ms',
      'p95 ms',
      'p99 ms',
      'max ms',
      'per s',
      'CPU busy %',
      'of it bench %',
      'errors',
    ],
    ...uncached.map((l) => [l.clients, ...levelFigures(l), l.errors]),
  ]);
  const ratios = levels.map((l, i) => ({
    clients: l.clients,
    p50: round(l.ms.p50 / raw[i]!.ms.p50),
    throughput: round(raw[i]!.perSecond / l.perSecond),
  }));
  console.log(
    `  summary/raw: ${ratios.map((r) => `${r.clients} client${r.clients > 1 ? 's' : ''}: p50 × ${r.p50}, throughput × ${r.throughput}`).join('; ')}`,
  );
  for (const l of levels.filter((x) => x.errors > 0))
    console.log(`  errors at ${l.clients} clients: ${JSON.stringify(l.statuses)}`);
  console.log(
    `  server: peak RSS ${fmt(Math.round(usage.maxRssKb / 1024))} MiB, CPU ${round((usage.cpuUserUs + usage.cpuSystemUs) / 1e6)} s in all`,
  );

  // ── Where the time goes ──────────────────────────────────────────────────────────────────
  const stages = await profileStages(rawDb, model, {
    patientId: asked,
    asOf: AS_OF,
    viewer: target.viewer,
    clinician: 'Practitioner/qt-wang-jianguo',
    rounds: SIZE.profile,
  });
  console.log(
    `\n[${elapsed()}] stages of one summary, in this process, one at a time (${SIZE.profile} rounds):`,
  );
  printTable([['stage', 'p50 ms', 'p95 ms'], ...stages.map((s) => [s.stage, s.p50, s.p95])]);

  // ── Goals ────────────────────────────────────────────────────────────────────────────────
  const one = levels[0]!;
  const eight = levels.find((l) => l.clients === 8)!;
  const [coldOne, coldEight] = uncached as [LevelResult, LevelResult];
  const goalsOf = (what: string, oneClient: LevelResult, eightClients: LevelResult) =>
    [
      [
        `p95 at 1 client (ms), ${what}`,
        `<= ${GOALS.p95Ms}`,
        oneClient.ms.p95,
        oneClient.ms.p95 <= GOALS.p95Ms && oneClient.errors === 0,
      ],
      [
        `summaries/s at 8 clients, ${what}`,
        `>= ${GOALS.perSecondAt8}`,
        eightClients.perSecond,
        eightClients.perSecond >= GOALS.perSecondAt8 && eightClients.errors === 0,
      ],
    ] as const;
  const goals = [...goalsOf('kept summary', one, eight), ...goalsOf('built each time', coldOne, coldEight)];
  console.log(`\n[${elapsed()}] goals (figures, not assertions):`);
  printTable([
    ['goal', 'target', 'measured', 'met'],
    ...goals.map(([g, t, m, ok]) => [g, t, String(m), ok ? 'met' : 'NOT met']),
  ]);

  const file = await writeResults('summary', {
    size: FULL ? 'full' : 'quick',
    at: new Date().toISOString(),
    asOf: AS_OF.toISOString().slice(0, 10),
    seed: SEED,
    machine,
    postgres: { where: pg.where.startsWith('embedded') ? 'embedded' : 'DATABASE_URL', ...settings },
    seeding: seeded,
    store,
    target: { resources: target.resources.length, byType, viewer: target.viewer, asked },
    selectedRows: rows,
    document: shape,
    summary: levels,
    summaryBuiltEachTime: uncached,
    raw,
    ratios,
    stages,
    serverPeakRssMiB: Math.round(usage.maxRssKb / 1024),
    goals: Object.fromEntries(goals.map(([g, t, m, ok]) => [g, { target: t, measured: m, met: ok }])),
    seconds: round((performance.now() - started) / 1000, 0),
  });
  console.log(`\nresults: ${file} (${elapsed()} in all)`);
} finally {
  await cleanup();
}

function countBy(list: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of list) out[x] = (out[x] ?? 0) + 1;
  return out;
}

/** A level's columns from `requests` to `of it bench %`, as every table here prints them. */
function levelFigures(l: LevelResult): (string | number)[] {
  return [
    l.requests,
    l.ms.p50,
    l.ms.p95,
    l.ms.p99,
    l.ms.max,
    l.perSecond,
    l.machineCpuBusyPct,
    l.loadGeneratorCpuPct,
  ];
}
