import type { Database, Queryable } from '../../db/database.ts';
import type { Demographics } from '../golden/golden-patient.ts';
import { blockingKeys } from '../match/blocking.ts';
import { matchHashOf, type MatchRecord } from '../match/record.ts';
import type { MatchRules } from '../match/rules.ts';
import type { RecordState } from '../store/identity-store.ts';

/**
 * Bulk loading of the identity tables: seeding the EMPI from an existing master index (the
 * person each record belongs to is already known), or filling a store for a benchmark. No
 * matching happens here — the caller vouches for the person ids — so a batch is three
 * multi-row INSERTs over `unnest` arrays instead of a lock, a candidate query and a decision per
 * record. Records already present are left as they are (ON CONFLICT DO NOTHING): a re-run of an
 * interrupted load continues instead of failing, and never overwrites what the matcher decided.
 */

/** One source record with the person an existing master index says it belongs to. */
export interface BulkRecord {
  record: MatchRecord;
  personId: string;
  demographics: Demographics;
  institution?: string;
  tier?: string;
  /** ISO time the source's demographics last changed; defaults to the load's `loadedAt`. */
  sourceUpdated?: string;
  /** `manual` when the master index's link was made by a person; default `linked`. */
  state?: RecordState;
}

export interface BulkLoadOptions {
  rules: Pick<MatchRules, 'blocking'>;
  /** Records per transaction (default 2,000). */
  batchSize?: number;
  /**
   * Batches written at once on separate connections (default 1). Two let PostgreSQL write one
   * batch while Node prepares or sends the next; the pool needs at least this many connections.
   */
  concurrency?: number;
  /** `source_updated` of records that carry none (ISO; default: now). */
  loadedAt?: string;
  /** Called after each committed batch with the records loaded so far. */
  onBatch?: (loaded: number) => void;
  /**
   * ANALYZE the tables at the end (default true): after a large load the planner's statistics
   * are stale until autovacuum comes round, and the first matches would pay for it.
   */
  analyze?: boolean;
}

export interface BulkLoadResult {
  /** Records offered. */
  records: number;
  /** Records written (offered minus those already present). */
  inserted: number;
  /** Blocking-key rows written. */
  blocks: number;
  /** Distinct persons offered (existing ones are kept). */
  persons: number;
}

export { matchHashOf } from '../match/record.ts';

/**
 * Loads records in batches, each batch in its own transaction (persons, then records, then
 * blocking keys). Accepts any iterable — a generator streams a million records without holding them.
 */
export async function bulkLoadIdentity(
  db: Database,
  records: Iterable<BulkRecord> | AsyncIterable<BulkRecord>,
  opts: BulkLoadOptions,
): Promise<BulkLoadResult> {
  const batchSize = opts.batchSize ?? 2_000;
  const concurrency = opts.concurrency ?? 1;
  for (const [name, v] of [
    ['batchSize', batchSize],
    ['concurrency', concurrency],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer`);
  }
  const loadedAt = opts.loadedAt ?? new Date().toISOString();
  const persons = new Set<string>();
  const total: BulkLoadResult = { records: 0, inserted: 0, blocks: 0, persons: 0 };
  let written = 0;
  let batch: BulkRecord[] = [];
  let failure: { error: unknown } | undefined;
  const inFlight = new Set<Promise<void>>();
  const flush = async () => {
    if (batch.length === 0) return;
    const rows = batch;
    batch = [];
    const done: Promise<void> = db
      .transaction((c) => writeBatch(c, rows, opts.rules, loadedAt))
      .then((w) => {
        total.inserted += w.inserted;
        total.blocks += w.blocks;
        written += rows.length;
        opts.onBatch?.(written);
      })
      .catch((error: unknown) => void (failure ??= { error }))
      .finally(() => inFlight.delete(done));
    inFlight.add(done);
    if (inFlight.size >= concurrency) await Promise.race(inFlight);
    // A failed batch stops the load (committed batches stay; a re-run skips them).
    if (failure) throw failure.error;
  };
  try {
    for await (const r of records) {
      batch.push(r);
      total.records++;
      persons.add(r.personId);
      if (batch.length >= batchSize) await flush();
    }
    await flush();
  } finally {
    // Never leave a batch running behind the caller's back.
    await Promise.all(inFlight);
  }
  if (failure) throw failure.error;
  if (opts.analyze !== false) await db.query('ANALYZE identity_person, identity_record, identity_block');
  total.persons = persons.size;
  return total;
}

/** One batch on an open transaction: persons, records, blocking keys. */
export async function writeBatch(
  q: Queryable,
  rows: readonly BulkRecord[],
  rules: Pick<MatchRules, 'blocking'>,
  loadedAt: string,
): Promise<{ inserted: number; blocks: number }> {
  const refs = rows.map((r) => r.record.ref);
  if (new Set(refs).size !== refs.length) throw new Error('a batch holds the same record twice');
  await q.query(
    // Sorted, so that concurrent batches sharing persons take their row locks in one order.
    `INSERT INTO identity_person (id) SELECT DISTINCT p FROM unnest($1::text[]) AS p ORDER BY p
     ON CONFLICT DO NOTHING`,
    [rows.map((r) => r.personId)],
  );
  const inserted = await q.query<{ patient_ref: string }>(
    `INSERT INTO identity_record (patient_ref, institution, tier, person_id, state, match, match_hash,
       demographics, source_updated, active)
     SELECT ref, inst, tier, person, state, match::jsonb, hash, demo::jsonb, updated, true
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                   $8::text[], $9::timestamptz[])
         AS t(ref, inst, tier, person, state, match, hash, demo, updated)
     ON CONFLICT (patient_ref) DO NOTHING
     RETURNING patient_ref`,
    [
      refs,
      rows.map((r) => r.institution ?? null),
      rows.map((r) => r.tier ?? null),
      rows.map((r) => r.personId),
      rows.map((r) => r.state ?? 'linked'),
      rows.map((r) => JSON.stringify(r.record)),
      rows.map((r) => matchHashOf(r.record, r.demographics)),
      rows.map((r) => JSON.stringify(r.demographics)),
      rows.map((r) => r.sourceUpdated ?? loadedAt),
    ],
  );
  // Blocking keys only for the records written now: a record already present keeps its own.
  const fresh = new Set(inserted.rows.map((r) => r.patient_ref));
  // In key order: the (key, patient_ref) index is then filled page by page, not at random.
  const pairs: [string, string][] = [];
  for (const r of rows) {
    if (!fresh.has(r.record.ref)) continue;
    for (const key of blockingKeys(r.record, rules)) pairs.push([key, r.record.ref]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : 1));
  const keys = pairs.map((p) => p[0]);
  const keyRefs = pairs.map((p) => p[1]);
  if (pairs.length > 0) {
    await q.query(
      `INSERT INTO identity_block (key, patient_ref)
       SELECT k, r FROM unnest($1::text[], $2::text[]) AS t(k, r) ON CONFLICT DO NOTHING`,
      [keys, keyRefs],
    );
  }
  return { inserted: fresh.size, blocks: pairs.length };
}
