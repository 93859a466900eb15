import type { Queryable } from '../../db/database.ts';
import type { IndexRows } from '../types.ts';

export interface IndexedResource {
  resourceType: string;
  id: string;
  rows: IndexRows;
}

const TABLES = [
  'sp_token',
  'sp_string',
  'sp_date',
  'sp_reference',
  'sp_number',
  'sp_quantity',
  'sp_uri',
] as const;

/** Pieces of one SQL statement: data-modifying CTE bodies and the parameters they bind. */
export interface StatementParts {
  ctes: string[];
  params: unknown[];
}

/**
 * Writes the index rows of many resources in ONE statement (arrays bound through `unnest`, one
 * data-modifying CTE per table): a 300-resource transaction costs one round trip, not thousands.
 * `fresh` skips the delete for ids that cannot have rows yet (new server-assigned ids).
 */
export async function replaceIndexRows(
  q: Queryable,
  items: IndexedResource[],
  opts: { fresh?: boolean } = {},
): Promise<void> {
  const parts: StatementParts = { ctes: [], params: [] };
  addIndexWrites(parts, items, opts);
  await runParts(q, parts);
}

/** Runs collected CTE bodies as one statement (a no-op when there are none). */
export async function runParts(q: Queryable, parts: StatementParts): Promise<void> {
  if (parts.ctes.length === 0) return;
  // Every CTE runs on the same snapshot, so deleting a resource's old index rows and inserting
  // its new ones in one statement never sees the new rows as old.
  const sql = `WITH ${parts.ctes.map((x, n) => `w${n} AS (${x})`).join(',\n')}\nSELECT 1`;
  await q.query(sql, parts.params);
}

/** Adds the deletes of the index rows `items` had, one per table and resource type. */
export function addIndexDeletesOf(
  parts: StatementParts,
  items: readonly { resourceType: string; id: string }[],
): void {
  const byType = new Map<string, string[]>();
  for (const it of items) {
    const list = byType.get(it.resourceType);
    if (list) list.push(it.id);
    else byType.set(it.resourceType, [it.id]);
  }
  for (const [type, ids] of byType) addIndexDeletes(parts, type, ids);
}

/** Adds the deletes (unless fresh) and inserts of the index rows of `items` to a statement. */
export function addIndexWrites(
  parts: StatementParts,
  items: IndexedResource[],
  opts: { fresh?: boolean } = {},
): void {
  if (items.length === 0) return;
  if (!opts.fresh) addIndexDeletesOf(parts, items);
  const col = columns(items);
  const add = (sql: (p: (value: unknown, cast: string) => string) => string) => {
    parts.ctes.push(sql((value, cast) => `$${parts.params.push(value)}::${cast}`));
  };
  if (col.token.t.length > 0) {
    add(
      (p) =>
        `INSERT INTO sp_token (resource_type, resource_id, code, system, value, text)
       SELECT * FROM unnest(${p(col.token.t, 'text[]')}, ${p(col.token.i, 'text[]')}, ${p(col.token.c, 'text[]')},
         ${p(col.token.system, 'text[]')}, ${p(col.token.value, 'text[]')}, ${p(col.token.text, 'text[]')})`,
    );
  }
  if (col.string.t.length > 0) {
    // text[][] cannot be ragged, so each row's grams travel as a JSON array and are unpacked here.
    add(
      (p) =>
        `INSERT INTO sp_string (resource_type, resource_id, code, norm, exact, grams)
       SELECT t, i, c, n, e, ARRAY(SELECT jsonb_array_elements_text(g::jsonb))
         FROM unnest(${p(col.string.t, 'text[]')}, ${p(col.string.i, 'text[]')}, ${p(col.string.c, 'text[]')},
           ${p(col.string.norm, 'text[]')}, ${p(col.string.exact, 'text[]')}, ${p(col.string.grams, 'text[]')}) AS x(t, i, c, n, e, g)`,
    );
  }
  if (col.date.t.length > 0) {
    add(
      (p) =>
        `INSERT INTO sp_date (resource_type, resource_id, code, lo, hi)
       SELECT * FROM unnest(${p(col.date.t, 'text[]')}, ${p(col.date.i, 'text[]')}, ${p(col.date.c, 'text[]')},
         ${p(col.date.lo, 'timestamptz[]')}, ${p(col.date.hi, 'timestamptz[]')})`,
    );
  }
  if (col.reference.t.length > 0) {
    add(
      (p) =>
        `INSERT INTO sp_reference (resource_type, resource_id, code, target_type, target_id, url)
       SELECT * FROM unnest(${p(col.reference.t, 'text[]')}, ${p(col.reference.i, 'text[]')}, ${p(col.reference.c, 'text[]')},
         ${p(col.reference.targetType, 'text[]')}, ${p(col.reference.targetId, 'text[]')}, ${p(col.reference.url, 'text[]')})`,
    );
  }
  if (col.number.t.length > 0) {
    add(
      (p) =>
        `INSERT INTO sp_number (resource_type, resource_id, code, value)
       SELECT * FROM unnest(${p(col.number.t, 'text[]')}, ${p(col.number.i, 'text[]')}, ${p(col.number.c, 'text[]')},
         ${p(col.number.value, 'numeric[]')})`,
    );
  }
  if (col.quantity.t.length > 0) {
    add(
      (p) =>
        `INSERT INTO sp_quantity (resource_type, resource_id, code, value, system, unit)
       SELECT * FROM unnest(${p(col.quantity.t, 'text[]')}, ${p(col.quantity.i, 'text[]')}, ${p(col.quantity.c, 'text[]')},
         ${p(col.quantity.value, 'numeric[]')}, ${p(col.quantity.system, 'text[]')}, ${p(col.quantity.unit, 'text[]')})`,
    );
  }
  if (col.uri.t.length > 0) {
    add(
      (p) =>
        `INSERT INTO sp_uri (resource_type, resource_id, code, value)
       SELECT * FROM unnest(${p(col.uri.t, 'text[]')}, ${p(col.uri.i, 'text[]')}, ${p(col.uri.c, 'text[]')},
         ${p(col.uri.value, 'text[]')})`,
    );
  }
}

/** Drops every index row of the given resources (deletion, or before rewriting them). */
export async function deleteIndexRows(q: Queryable, resourceType: string, ids: string[]): Promise<void> {
  const parts: StatementParts = { ctes: [], params: [] };
  addIndexDeletes(parts, resourceType, ids);
  await runParts(q, parts);
}

export function addIndexDeletes(parts: StatementParts, resourceType: string, ids: string[]): void {
  const type = `$${parts.params.push(resourceType)}`;
  // One id as a plain key: with an array PostgreSQL planned the statement anew on every update.
  const match =
    ids.length === 1 ? `= $${parts.params.push(ids[0])}` : `= ANY($${parts.params.push(ids)}::text[])`;
  for (const t of TABLES)
    parts.ctes.push(`DELETE FROM ${t} WHERE resource_type = ${type} AND resource_id ${match}`);
}

/** Rows turned column-wise, one array per column, for `unnest`. */
function columns(items: IndexedResource[]) {
  const base = () => ({ t: [] as string[], i: [] as string[], c: [] as string[] });
  const col = {
    token: {
      ...base(),
      system: [] as (string | null)[],
      value: [] as (string | null)[],
      text: [] as (string | null)[],
    },
    string: { ...base(), norm: [] as string[], exact: [] as string[], grams: [] as string[] },
    date: { ...base(), lo: [] as string[], hi: [] as string[] },
    reference: {
      ...base(),
      targetType: [] as (string | null)[],
      targetId: [] as (string | null)[],
      url: [] as (string | null)[],
    },
    number: { ...base(), value: [] as string[] },
    quantity: {
      ...base(),
      value: [] as string[],
      system: [] as (string | null)[],
      unit: [] as (string | null)[],
    },
    uri: { ...base(), value: [] as string[] },
  };
  const key = (target: { t: string[]; i: string[]; c: string[] }, it: IndexedResource, code: string) => {
    target.t.push(it.resourceType);
    target.i.push(it.id);
    target.c.push(code);
  };
  for (const it of items) {
    const r = it.rows;
    for (const x of r.token) {
      key(col.token, it, x.code);
      col.token.system.push(x.system);
      col.token.value.push(x.value);
      col.token.text.push(x.text);
    }
    for (const x of r.string) {
      key(col.string, it, x.code);
      col.string.norm.push(x.norm);
      col.string.exact.push(x.exact);
      col.string.grams.push(JSON.stringify(x.grams));
    }
    for (const x of r.date) {
      key(col.date, it, x.code);
      col.date.lo.push(x.lo);
      col.date.hi.push(x.hi);
    }
    for (const x of r.reference) {
      key(col.reference, it, x.code);
      col.reference.targetType.push(x.targetType);
      col.reference.targetId.push(x.targetId);
      col.reference.url.push(x.url);
    }
    for (const x of r.number) {
      key(col.number, it, x.code);
      col.number.value.push(x.value);
    }
    for (const x of r.quantity) {
      key(col.quantity, it, x.code);
      col.quantity.value.push(x.value);
      col.quantity.system.push(x.system);
      col.quantity.unit.push(x.unit);
    }
    for (const x of r.uri) {
      key(col.uri, it, x.code);
      col.uri.value.push(x.value);
    }
  }
  return col;
}
