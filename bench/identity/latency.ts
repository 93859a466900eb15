/**
 * Phase 3: one new record at a time against the bulk-loaded store — half loaded residents
 * re-registered at a village clinic (with that tier's errors), half residents never loaded —
 * timed through the same resolve path as phase 1.
 */
import type { Database } from '../../src/db/database.ts';
import { TOWNSHIPS } from '../../src/demo/county.ts';
import type { PopulationOptions } from '../../src/demo/population/index.ts';
import type { Resident } from '../../src/demo/types.ts';
import { resolveOne } from '../../src/identity/bulk/resolve-one.ts';
import type { MatchRules } from '../../src/identity/match/rules.ts';
import { percentile, summarize, type LatencySummary } from '../support/stats.ts';
import type { Held } from './bulk.ts';
import { benchRecord, shuffled } from './registrations.ts';

export interface LatencyResult {
  records: number;
  ms: LatencySummary;
  candidatesP50: number;
  candidatesMax: number;
  /** What the matcher made of them: true matches should link, unseen residents should be new. */
  known: Record<string, number>;
  unseen: Record<string, number>;
}

const VILLAGE_CLINICS = TOWNSHIPS.flatMap((t) => t.villages.flatMap((v) => (v.clinic ? [v.clinic] : [])));

/** The resident's own village clinic, or (living where there is none) one of the county's. */
function clinicOf(r: Resident): string {
  const own = TOWNSHIPS.find((t) => t.id === r.address.townshipId)?.villages.find(
    (v) => v.id === r.address.villageId,
  )?.clinic;
  return own ?? VILLAGE_CLINICS[Number(r.personId.slice(1)) % VILLAGE_CLINICS.length]!;
}

export async function runLatency(
  db: Database,
  rules: MatchRules,
  pop: { options: PopulationOptions },
  held: Held,
): Promise<LatencyResult> {
  const items = shuffled(
    [...held.loaded.map((r) => ({ r, known: true })), ...held.unseen.map((r) => ({ r, known: false }))],
    pop.options.seed,
    'bench-identity-latency-order',
  );
  const samples: number[] = [];
  const candidates: number[] = [];
  const known: Record<string, number> = {};
  const unseen: Record<string, number> = {};
  for (const { r, known: isKnown } of items) {
    const b = benchRecord(pop, r, clinicOf(r));
    const t0 = performance.now();
    const out = await resolveOne(db, rules, {
      record: b.bulk.record,
      demographics: b.bulk.demographics,
      institution: b.bulk.institution!,
      tier: b.bulk.tier!,
    });
    samples.push(performance.now() - t0);
    candidates.push(out.candidates);
    const outcome =
      out.resolution.outcome === 'link'
        ? out.personId === r.personId
          ? 'link (right person)'
          : 'link (WRONG person)'
        : out.resolution.outcome;
    const tally = isKnown ? known : unseen;
    tally[outcome] = (tally[outcome] ?? 0) + 1;
  }
  return {
    records: items.length,
    ms: summarize(samples),
    candidatesP50: percentile(candidates, 50),
    candidatesMax: percentile(candidates, 100),
    known,
    unseen,
  };
}
