import type { Queryable } from './database.ts';

/**
 * Transaction-scoped advisory locks on several names in ONE statement, taken in hash order: two
 * transactions sharing names wait for each other instead of deadlocking, and any number of names
 * costs one round trip. `space` keeps the callers' names apart (identity, conditional criteria,
 * ids without a row yet); it is a constant of the caller, never request data.
 */
export async function lockNamesInOrder(q: Queryable, space: number, names: readonly string[]): Promise<void> {
  const unique = [...new Set(names)].sort();
  if (unique.length === 0) return;
  if (!Number.isInteger(space)) throw new Error(`lock space must be an integer, got ${space}`);
  await q.query(
    `SELECT pg_advisory_xact_lock(h) FROM (
       SELECT DISTINCT hashtextextended(n, ${space}) AS h FROM unnest($1::text[]) AS n ORDER BY 1) s`,
    [unique],
  );
}
