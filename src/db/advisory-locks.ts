import type { Queryable } from './database.ts';

/** Names to lock in one lock space: a constant of the caller, never request data. */
export interface LockNames {
  space: number;
  names: readonly string[];
}

/**
 * Transaction-scoped advisory locks on several names in ONE statement, taken in hash order: two
 * transactions sharing names wait for each other instead of deadlocking, and any number of names
 * costs one round trip. `space` keeps the callers' names apart (identity, conditional criteria,
 * ids without a row yet).
 */
export async function lockNamesInOrder(q: Queryable, space: number, names: readonly string[]): Promise<void> {
  await lockSpacesInOrder(q, [{ space, names }]);
}

/**
 * Names of several spaces in one statement, space by space (ascending) and in hash order within
 * each — the order in which separate `lockNamesInOrder` calls for those spaces would take them.
 */
export async function lockSpacesInOrder(q: Queryable, groups: readonly LockNames[]): Promise<void> {
  const names: string[] = [];
  const spaces: number[] = [];
  for (const { space, names: list } of groups) {
    if (!Number.isInteger(space)) throw new Error(`lock space must be an integer, got ${space}`);
    for (const n of new Set(list)) {
      names.push(n);
      spaces.push(space);
    }
  }
  if (names.length === 0) return;
  if (groups.length === 1) {
    // One space (the usual case) keeps the statement every caller has sent so far.
    await q.query(
      `SELECT pg_advisory_xact_lock(h) FROM (
       SELECT DISTINCT hashtextextended(n, ${spaces[0]}) AS h FROM unnest($1::text[]) AS n ORDER BY 1) s`,
      [names],
    );
    return;
  }
  await q.query(
    `SELECT pg_advisory_xact_lock(h) FROM (
       SELECT DISTINCT s, hashtextextended(n, s) AS h FROM unnest($1::text[], $2::int[]) AS x(n, s) ORDER BY 1, 2) l`,
    [names, spaces],
  );
}
