import type { Database, Queryable } from '../../src/db/database.ts';
import type { FhirModel } from '../../src/repository/fhir-model.ts';
import { search } from '../../src/repository/search/index.ts';
import type { ServerProcess } from '../support/server-process.ts';
import { round, runPool, summarize, type LatencySummary } from '../support/stats.ts';
import { LOINC, RESIDENT_ID_SYSTEM } from './seed-data.ts';

export interface SearchKindResult {
  kind: string;
  example: string;
  requests: number;
  errors: number;
  emptyResults: number;
  requestsPerSecond: number;
  ms: LatencySummary;
  /** The server process's CPU per request: app cost apart from PostgreSQL's and the client's. */
  serverCpuMsPerRequest: number;
}

export interface Samples {
  patients: { id: string; identifier: string }[];
  observationIds: string[];
}

/** Random seeded residents and Observations to ask for (the benchmark's own, by identifier system). */
export async function sampleTargets(db: Queryable, count: number): Promise<Samples> {
  const patients = await db.query(
    `SELECT id, content->'identifier'->0->>'value' AS identifier FROM resource
      WHERE resource_type = 'Patient' AND content->'identifier'->0->>'system' = $1
      ORDER BY random() LIMIT $2`,
    [RESIDENT_ID_SYSTEM, count],
  );
  const observations = await db.query(
    `SELECT resource_id AS id FROM sp_token TABLESAMPLE SYSTEM (5)
      WHERE resource_type = 'Observation' AND code = 'code' AND system = 'http://loinc.org' LIMIT $1`,
    [count],
  );
  return { patients: patients.rows, observationIds: observations.rows.map((r) => r.id) };
}

/** The four request shapes of the benchmark, each a function of the request number. */
export function requestKinds(fhirUrl: string, s: Samples): { kind: string; url: (i: number) => string }[] {
  const pick = <T>(list: T[], i: number) => list[(i * 7919) % list.length]!;
  return [
    {
      kind: 'Observation?patient&code&_sort=-date',
      url: (i) =>
        `${fhirUrl}/Observation?patient=${pick(s.patients, i).id}&code=${encodeURIComponent(`http://loinc.org|${LOINC[i % LOINC.length]![0]}`)}&_sort=-date&_count=20`,
    },
    { kind: 'Observation/{id} (read)', url: (i) => `${fhirUrl}/Observation/${pick(s.observationIds, i)}` },
    {
      kind: 'Patient?identifier',
      url: (i) =>
        `${fhirUrl}/Patient?identifier=${encodeURIComponent(`${RESIDENT_ID_SYSTEM}|${pick(s.patients, i).identifier}`)}`,
    },
    {
      kind: 'Patient?name:contains=秀',
      url: () => `${fhirUrl}/Patient?${encodeURIComponent('name:contains')}=${encodeURIComponent('秀')}`,
    },
  ];
}

/** `requests` GETs of one kind from `clients` parallel clients, after a short warm-up. */
export async function measureKind(
  server: ServerProcess,
  kind: { kind: string; url: (i: number) => string },
  requests: number,
  clients: number,
): Promise<SearchKindResult> {
  await runPool(Math.min(100, requests), clients, (i) => server.http.request('GET', kind.url(requests + i)));
  let errors = 0;
  let empty = 0;
  const before = await server.usage();
  const started = performance.now();
  const ms = await runPool(requests, clients, async (i) => {
    const sent = performance.now();
    const reply = await server.http
      .request('GET', kind.url(i))
      .catch(() => ({ status: 0, body: '', ms: performance.now() - sent }));
    if (reply.status !== 200) errors++;
    else if (reply.body.startsWith('{"resourceType":"Bundle"') && !reply.body.includes('"entry"')) empty++;
    return reply.ms;
  });
  const seconds = (performance.now() - started) / 1000;
  const after = await server.usage();
  const cpuUs = after.cpuUserUs + after.cpuSystemUs - before.cpuUserUs - before.cpuSystemUs;
  return {
    kind: kind.kind,
    example: kind.url(0).replace(/^https?:\/\/[^/]+/, ''),
    requests,
    errors,
    emptyResults: empty,
    requestsPerSecond: round(requests / seconds, 0),
    ms: summarize(ms),
    serverCpuMsPerRequest: round(cpuUs / 1000 / requests),
  };
}

/**
 * The plan of the patient-bound search as the repository builds it: `search()` runs on a wrapper
 * that records its first statement, which is then run again under EXPLAIN (ANALYZE, BUFFERS).
 */
export async function explainPatientSearch(db: Database, model: FhirModel, s: Samples): Promise<string[]> {
  const target = s.patients[0];
  if (!target) return [];
  let captured: { sql: string; params: unknown[] } | undefined;
  const recorder: Queryable = {
    query: (sql, params) => {
      captured ??= { sql, params: params ?? [] };
      return db.query(sql, params);
    },
  };
  await search(recorder, model, {
    resourceType: 'Observation',
    params: [
      ['patient', target.id],
      ['code', `http://loinc.org|${LOINC[0]![0]}`],
      ['_sort', '-date'],
      ['_count', '20'],
    ],
    strict: false,
    baseUrl: 'http://localhost/fhir',
  });
  if (!captured) return [];
  const { rows } = await db.query(`EXPLAIN (ANALYZE, BUFFERS) ${captured.sql}`, captured.params);
  return rows.map((r) => String(r['QUERY PLAN']));
}
