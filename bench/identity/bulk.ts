/**
 * Phase 2: a registrations-only population streamed into the identity tables with the bulk
 * loader (one county-hospital registration each), keeping aside the residents phase 3 needs.
 */
import type { Database } from '../../src/db/database.ts';
import { streamResidents, type PopulationOptions } from '../../src/demo/population/index.ts';
import type { Resident } from '../../src/demo/types.ts';
import { bulkLoadIdentity, type BulkRecord } from '../../src/identity/bulk/bulk-load.ts';
import type { MatchRules } from '../../src/identity/match/rules.ts';
import { LEAD_HOSPITAL } from '../../src/demo/county.ts';
import { round } from '../support/stats.ts';
import { benchRecord } from './registrations.ts';

export interface BulkResult {
  records: number;
  inserted: number;
  blocks: number;
  persons: number;
  seconds: number;
  recordsPerSecond: number;
  /** Time spent building the records (generation, errors, normalisation) inside `seconds`. */
  prepareSeconds: number;
  /** Highest RSS of this process sampled during the load (MiB). */
  peakRssMiB: number;
  tableSizes: Record<string, string>;
}

export interface Held {
  /** Loaded residents to re-register (phase 3's true matches). */
  loaded: Resident[];
  /** Residents generated after the loaded ones, never loaded (phase 3's new persons). */
  unseen: Resident[];
}

export async function runBulk(
  db: Database,
  rules: MatchRules,
  opts: { seed: string; asOf: string; residents: number; hold: number; batchSize: number },
  progress: (loaded: number) => void,
): Promise<{ result: BulkResult; held: Held; pop: { options: PopulationOptions } }> {
  const pop = { options: { seed: opts.seed, asOf: opts.asOf, residents: opts.residents + opts.hold * 3 } };
  const every = Math.max(1, Math.floor(opts.residents / opts.hold));
  const held: Held = { loaded: [], unseen: [] };
  let peakRss = process.memoryUsage().rss;
  let prepareMs = 0;
  function* records(): Generator<BulkRecord> {
    let i = 0;
    for (const r of streamResidents(pop.options)) {
      if (i < opts.residents) {
        if (i % every === every - 1 && held.loaded.length < opts.hold) held.loaded.push(r);
        const t0 = performance.now();
        const b = benchRecord(pop, r, LEAD_HOSPITAL).bulk;
        prepareMs += performance.now() - t0;
        yield b;
      } else if (held.unseen.length < opts.hold) {
        held.unseen.push(r);
      } else {
        return;
      }
      i++;
    }
  }
  const started = performance.now();
  const loaded = await bulkLoadIdentity(db, records(), {
    rules,
    batchSize: opts.batchSize,
    concurrency: 2,
    loadedAt: `${opts.asOf}T00:00:00Z`,
    onBatch: (n) => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      if (n % 100_000 < opts.batchSize) progress(n);
    },
  });
  const seconds = (performance.now() - started) / 1000;
  const { rows } = await db.query<{ name: string; size: string }>(
    `SELECT c AS name, pg_size_pretty(pg_total_relation_size(c::regclass)) AS size
       FROM unnest(ARRAY['identity_record', 'identity_block', 'identity_person']) AS c`,
  );
  return {
    held,
    pop,
    result: {
      ...loaded,
      seconds: round(seconds),
      recordsPerSecond: round(loaded.records / seconds, 0),
      prepareSeconds: round(prepareMs / 1000),
      peakRssMiB: Math.round(peakRss / 2 ** 20),
      tableSizes: Object.fromEntries(rows.map((r) => [r.name, r.size])),
    },
  };
}
