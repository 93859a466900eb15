import { printTable } from '../support/stats.ts';
import type { IngestResult } from './ingest.ts';
import type { SearchKindResult } from './search.ts';

export interface GoalRow {
  goal: string;
  target: string;
  measured: number | null;
  unit: string;
  met: boolean | null;
  note?: string;
}

/** The repository issue's goals, side by side with what this run measured (never asserted). */
/** The ingest rate after the store has grown, against the same client level on the empty store. */
export interface GrowthResult {
  storeResources: number;
  clients: number;
  resourcesPerSecond: number;
  emptyResourcesPerSecond: number;
  ratio: number;
}

export function compareGoals(
  ingest: IngestResult[],
  kinds: SearchKindResult[],
  full: boolean,
  growth?: GrowthResult,
): GoalRow[] {
  const best = ingest.reduce<IngestResult | undefined>(
    (b, r) => (!b || r.resourcesPerSecond > b.resourcesPerSecond ? r : b),
    undefined,
  );
  const bound = kinds.find((k) => k.kind.startsWith('Observation?patient'));
  const read = kinds.find((k) => k.kind.startsWith('Observation/{id}'));
  const row = (
    goal: string,
    target: string,
    limit: number,
    atMost: boolean,
    measured: number | undefined,
    unit: string,
    note?: string,
  ): GoalRow => ({
    goal,
    target,
    measured: measured ?? null,
    unit,
    met: measured === undefined ? null : atMost ? measured <= limit : measured >= limit,
    ...(note ? { note } : {}),
  });
  return [
    row(
      'ingest (transaction Bundles over HTTP)',
      '≥ 1,200',
      1200,
      false,
      best?.resourcesPerSecond,
      'resources/s',
      best ? `best level: ${best.clients} clients` : undefined,
    ),
    row('patient-bound search p50', '≤ 20', 20, true, bound?.ms.p50, 'ms'),
    row('patient-bound search p95', '≤ 100', 100, true, bound?.ms.p95, 'ms'),
    row('read by id p99', '≤ 10', 10, true, read?.ms.p99, 'ms'),
    {
      goal: 'ingest rate at 10 M resources / empty',
      target: '≥ 0.8',
      measured: growth ? growth.ratio : null,
      unit: 'ratio',
      met: growth && full ? growth.ratio >= 0.8 : null,
      note: growth
        ? `at ${(growth.storeResources / 1e6).toFixed(2)} M resources, ${growth.clients} clients` +
          (full ? '' : ' (quick size: not 10 M, the goal is judged on BENCH_SIZE=full)')
        : 'not measured',
    },
  ];
}

export function printGoals(rows: GoalRow[]): void {
  printTable([
    ['goal', 'target', 'measured', 'unit', 'met', 'note'],
    ...rows.map((r) => [
      r.goal,
      r.target,
      r.measured ?? '—',
      r.unit,
      r.met === null ? '—' : r.met ? 'yes' : 'NO',
      r.note ?? '',
    ]),
  ]);
}
