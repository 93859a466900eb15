/** A resource's primary key. */
export interface ResourceKey {
  type: string;
  id: string;
}

/** Up to this many keys are written out as pairs; more go through `unnest` (one statement text). */
const MAX_LISTED = 16;

/**
 * `WHERE` text and values matching `alias`'s rows to the given keys. PostgreSQL plans a statement
 * over `unnest` of arrays anew on every run (the array lengths change its estimates), so a few
 * keys are written as `(type, id)` pairs, whose plan it keeps per number of keys — in a census of
 * the ingest path that planning cost twice the look-up itself.
 */
export function keysMatch(alias: string, keys: readonly ResourceKey[]): { where: string; values: unknown[] } {
  if (keys.length > MAX_LISTED) {
    return {
      where: `(${alias}.resource_type, ${alias}.id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
      values: [keys.map((k) => k.type), keys.map((k) => k.id)],
    };
  }
  const values: unknown[] = [];
  const pairs = keys.map((k) => `($${values.push(k.type)}, $${values.push(k.id)})`);
  const where =
    keys.length === 1
      ? `${alias}.resource_type = $1 AND ${alias}.id = $2`
      : `(${alias}.resource_type, ${alias}.id) IN (${pairs.join(', ')})`;
  return { where, values };
}
