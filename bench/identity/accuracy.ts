/**
 * Phase 1: every registration of a demo population fed one by one through the matcher against
 * PostgreSQL, then scored pairwise against the ground truth (`personId`).
 */
import type { Database } from '../../src/db/database.ts';
import type { Population } from '../../src/demo/population/index.ts';
import { resolveOne } from '../../src/identity/bulk/resolve-one.ts';
import type { MatchRecord } from '../../src/identity/match/record.ts';
import type { MatchRules } from '../../src/identity/match/rules.ts';
import { round, summarize, type LatencySummary } from '../support/stats.ts';
import { benchRecord, institutionsOf, shuffled, type BenchRecord } from './registrations.ts';

/** What the matcher decided for one record, kept for the report. */
interface Decided {
  bench: BenchRecord;
  personId: string;
  state: 'linked' | 'provisional' | 'manual';
  outcome: string;
  rule?: string;
  score?: number;
  veto?: string;
  note?: string;
  candidateRef?: string;
}

export interface FalseMerge {
  personId: string;
  records: {
    ref: string;
    truth: string;
    errors: string[];
    decision: string;
    fields: Pick<MatchRecord, 'name' | 'birthDate' | 'sex' | 'phones' | 'address'> & { nationalId?: string };
  }[];
}

export interface AccuracyResult {
  residents: number;
  records: number;
  seconds: number;
  recordsPerSecond: number;
  perRecordMs: LatencySummary;
  precision: number;
  recall: number;
  f1: number;
  /** Pairs: true positives, predicted, true. */
  pairs: { truePositive: number; predicted: number; actual: number };
  reviewShare: number;
  reviewed: number;
  outcomes: Record<string, number>;
  rules: Record<string, number>;
  falseMergeClusters: number;
  falseMerges: FalseMerge[];
  /** Records kept apart from their person's main cluster, by the error kinds they carry. */
  missedByError: Record<string, number>;
  /** The same, by the combination of kinds (the most frequent first). */
  missedByPattern: Record<string, number>;
  missedByOutcome: Record<string, number>;
  missedRecords: number;
  /**
   * Precision and recall if a reviewer accepted every proposed pair (each record in review joins
   * its candidate's person): how much of the recall gap the review queue holds, and how many of
   * its proposals are wrong.
   */
  ifReviewsAccepted: { precision: number; recall: number };
}

const pairs = (n: number) => (n * (n - 1)) / 2;
const bump = (m: Record<string, number>, k: string, by = 1) => (m[k] = (m[k] ?? 0) + by);

export async function runAccuracy(
  db: Database,
  rules: MatchRules,
  pop: Population,
  progress: (done: number, total: number) => void,
): Promise<AccuracyResult> {
  const { seed, asOf } = pop.options;
  const all: BenchRecord[] = [];
  for (const r of pop.residents) {
    for (const inst of institutionsOf(seed, asOf, r)) all.push(benchRecord(pop, r, inst));
  }
  const order = shuffled(all, seed, 'bench-identity-order');
  let personCounter = 0;
  const newPersonId = () => `X${String(++personCounter).padStart(8, '0')}`;

  const decided: Decided[] = [];
  const samples: number[] = [];
  const started = performance.now();
  for (const [i, b] of order.entries()) {
    const t0 = performance.now();
    const out = await resolveOne(
      db,
      rules,
      {
        record: b.bulk.record,
        demographics: b.bulk.demographics,
        institution: b.bulk.institution!,
        tier: b.bulk.tier!,
        sourceUpdated: `${asOf}T00:00:00Z`,
      },
      { newPersonId },
    );
    samples.push(performance.now() - t0);
    const d = out.resolution.decision;
    decided.push({
      bench: b,
      personId: out.personId,
      state: out.state,
      outcome: out.resolution.outcome,
      ...(d ? { rule: d.rule, score: d.score } : {}),
      ...(d?.veto ? { veto: d.veto } : {}),
      ...(out.resolution.note ? { note: out.resolution.note } : {}),
      ...(out.resolution.candidateRef ? { candidateRef: out.resolution.candidateRef } : {}),
    });
    if ((i + 1) % 5_000 === 0) progress(i + 1, order.length);
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    ...score(decided),
    residents: pop.residents.length,
    seconds: round(seconds),
    recordsPerSecond: round(order.length / seconds, 0),
    perRecordMs: summarize(samples),
  };
}

/** Pairwise scores from the contingency table of (predicted person, true person). */
function score(
  decided: readonly Decided[],
): Omit<AccuracyResult, 'residents' | 'seconds' | 'recordsPerSecond' | 'perRecordMs'> {
  const predicted = new Map<string, Decided[]>();
  const actual = new Map<string, Decided[]>();
  const outcomes: Record<string, number> = {};
  const rulesUsed: Record<string, number> = {};
  for (const d of decided) {
    const truth = d.bench.registration.personId;
    (predicted.get(d.personId) ?? predicted.set(d.personId, []).get(d.personId)!).push(d);
    (actual.get(truth) ?? actual.set(truth, []).get(truth)!).push(d);
    bump(outcomes, d.outcome);
    bump(rulesUsed, d.outcome === 'new' && !d.rule ? 'no-candidate' : `${d.outcome}:${d.rule ?? '-'}`);
  }
  const { tp, pp, ap, precision, recall } = pairwise(decided, (d) => d.personId);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  const personOfRef = new Map(decided.map((d) => [d.bench.bulk.record.ref, d.personId]));
  const accepted = pairwise(decided, (d) =>
    d.outcome === 'review' && d.candidateRef ? (personOfRef.get(d.candidateRef) ?? d.personId) : d.personId,
  );

  const merged = [...predicted.entries()].filter(
    ([, ds]) => new Set(ds.map((d) => d.bench.registration.personId)).size > 1,
  );
  const falseMerges: FalseMerge[] = merged.slice(0, 5).map(([personId, ds]) => ({
    personId,
    records: ds.map((d) => {
      const r = d.bench.bulk.record;
      return {
        ref: r.ref,
        truth: d.bench.registration.personId,
        errors: d.bench.registration.errors,
        decision:
          `${d.outcome} ${d.rule ?? ''} score ${d.score ?? '-'}` +
          (d.veto ? ` veto ${d.veto}` : '') +
          (d.candidateRef ? ` via ${d.candidateRef}` : ''),
        fields: {
          name: r.name,
          ...(r.birthDate ? { birthDate: r.birthDate } : {}),
          ...(r.sex ? { sex: r.sex } : {}),
          phones: r.phones,
          ...(r.address ? { address: r.address } : {}),
          ...(r.nationalId ? { nationalId: r.nationalId.value } : {}),
        },
      };
    }),
  }));

  // Missed links: a person's records outside the predicted person holding most of them.
  const missedByError: Record<string, number> = {};
  const missedByPattern: Record<string, number> = {};
  const missedByOutcome: Record<string, number> = {};
  let missedRecords = 0;
  for (const ds of actual.values()) {
    if (ds.length < 2) continue;
    const counts = new Map<string, number>();
    for (const d of ds) counts.set(d.personId, (counts.get(d.personId) ?? 0) + 1);
    if (counts.size === 1) continue;
    const main = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]![0];
    for (const d of ds) {
      if (d.personId === main) continue;
      missedRecords++;
      const errors = d.bench.registration.errors;
      if (errors.length === 0) bump(missedByError, '(none)');
      for (const e of errors) bump(missedByError, e);
      bump(missedByPattern, errors.length ? [...errors].sort().join('+') : '(none)');
      bump(missedByOutcome, `${d.outcome}${d.veto ? ` (veto ${d.veto})` : d.note ? ` (${d.note})` : ''}`);
    }
  }
  const reviewed = decided.filter((d) => d.outcome === 'review').length;
  return {
    records: decided.length,
    precision: round(precision, 5),
    recall: round(recall, 5),
    f1: round(f1, 5),
    pairs: { truePositive: tp, predicted: pp, actual: ap },
    reviewShare: round(reviewed / Math.max(1, decided.length), 5),
    reviewed,
    outcomes,
    rules: rulesUsed,
    falseMergeClusters: merged.length,
    falseMerges,
    missedByError: sortedDesc(missedByError),
    missedByPattern: Object.fromEntries(Object.entries(sortedDesc(missedByPattern)).slice(0, 12)),
    missedByOutcome: sortedDesc(missedByOutcome),
    missedRecords,
    ifReviewsAccepted: { precision: round(accepted.precision, 5), recall: round(accepted.recall, 5) },
  };
}

/** Pairwise precision and recall of a clustering (`personOf`) against the ground truth. */
function pairwise(decided: readonly Decided[], personOf: (d: Decided) => string) {
  const cell = new Map<string, number>();
  const predicted = new Map<string, number>();
  const actual = new Map<string, number>();
  for (const d of decided) {
    const p = personOf(d);
    const truth = d.bench.registration.personId;
    cell.set(`${p}\u0000${truth}`, (cell.get(`${p}\u0000${truth}`) ?? 0) + 1);
    predicted.set(p, (predicted.get(p) ?? 0) + 1);
    actual.set(truth, (actual.get(truth) ?? 0) + 1);
  }
  const sum = (m: Map<string, number>) => [...m.values()].reduce((s, n) => s + pairs(n), 0);
  const tp = sum(cell);
  const pp = sum(predicted);
  const ap = sum(actual);
  return { tp, pp, ap, precision: pp === 0 ? 1 : tp / pp, recall: ap === 0 ? 1 : tp / ap };
}

const sortedDesc = (m: Record<string, number>) =>
  Object.fromEntries(Object.entries(m).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
