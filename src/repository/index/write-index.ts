import type { Queryable } from '../../db/database.ts';
import type { IndexRows } from '../types.ts';

export interface IndexedResource {
  resourceType: string;
  id: string;
  rows: IndexRows;
}

/** Pieces of one SQL statement: data-modifying CTE bodies and the parameters they bind. */
export interface StatementParts {
  ctes: string[];
  params: unknown[];
}

type Kind = Exclude<keyof IndexRows, 'compartments'>;

/**
 * Each index table's own columns (after resource_type, resource_id and code): the row field that
 * fills it and how it travels. `grams` cannot be a ragged text[][], so each row's grams travel as a
 * JSON array and are unpacked in SQL; numbers travel as text and are compared as text, so `1.50`
 * and `1.5` are different rows, as their precision differs.
 */
const TABLES: Record<Kind, { table: string; columns: [field: string, column: string, cast: Cast][] }> = {
  token: {
    table: 'sp_token',
    columns: [
      ['system', 'system', 'text'],
      ['value', 'value', 'text'],
      ['text', 'text', 'text'],
    ],
  },
  string: {
    table: 'sp_string',
    columns: [
      ['norm', 'norm', 'text'],
      ['exact', 'exact', 'text'],
      ['grams', 'grams', 'grams'],
    ],
  },
  date: {
    table: 'sp_date',
    columns: [
      ['lo', 'lo', 'timestamptz'],
      ['hi', 'hi', 'timestamptz'],
    ],
  },
  reference: {
    table: 'sp_reference',
    columns: [
      ['targetType', 'target_type', 'text'],
      ['targetId', 'target_id', 'text'],
      ['url', 'url', 'text'],
    ],
  },
  number: { table: 'sp_number', columns: [['value', 'value', 'numeric']] },
  quantity: {
    table: 'sp_quantity',
    columns: [
      ['value', 'value', 'numeric'],
      ['system', 'system', 'text'],
      ['unit', 'unit', 'text'],
    ],
  },
  uri: { table: 'sp_uri', columns: [['value', 'value', 'text']] },
};
type Cast = 'text' | 'timestamptz' | 'numeric' | 'grams';
const KINDS = Object.keys(TABLES) as Kind[];

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
  if (!opts.fresh) addIndexDeletesOf(parts, items);
  addIndexInserts(parts, items);
  await runParts(q, parts);
}

/** Runs collected CTE bodies as one statement (a no-op when there are none). */
export async function runParts(q: Queryable, parts: StatementParts): Promise<void> {
  if (parts.ctes.length === 0) return;
  await q.query(statementOf(parts), parts.params);
}

/** The text of the one statement that runs the collected CTE bodies. */
export function statementOf(parts: StatementParts): string {
  // Every CTE runs on the same snapshot, so deleting a resource's old index rows and inserting
  // its new ones in one statement never sees the new rows as old.
  return `WITH ${parts.ctes.map((x, n) => `w${n} AS (${x})`).join(',\n')}\nSELECT 1`;
}

/** Adds a CTE and returns the name `runParts` will give it, for later CTEs to read from. */
function addCte(parts: StatementParts, body: string): string {
  return `w${parts.ctes.push(body) - 1}`;
}

function bind(parts: StatementParts, value: unknown, cast: string): string {
  return `$${parts.params.push(value)}::${cast}`;
}

/** Adds the deletes of the index rows `items` had, one per table. */
export function addIndexDeletesOf(
  parts: StatementParts,
  items: readonly { resourceType: string; id: string }[],
): void {
  const owned = ownedBy(parts, items);
  for (const kind of KINDS) parts.ctes.push(`DELETE FROM ${TABLES[kind].table} WHERE ${owned()}`);
}

/** Adds the inserts of every index row of `items`, which have none yet. */
export function addIndexInserts(parts: StatementParts, items: IndexedResource[]): void {
  if (items.length === 0) return;
  for (const kind of KINDS) {
    const source = unnestRows(parts, kind, items);
    if (source) parts.ctes.push(`${insertInto(kind)} SELECT * FROM (${source}) AS n`);
  }
}

/**
 * Brings the index rows of resources that already have some up to date, touching only rows that
 * changed: a row the new version no longer has is deleted, a row it newly has is inserted, and a
 * row both have is left alone. Most updates change few rows — an ORU repeats its Patient with only
 * the event time new, identity adds one `link` — so rewriting all of them (a Patient has ~25
 * string rows, each with a GIN entry) was most of an update's cost. Compared with the rows stored,
 * not with rows re-extracted from the previous version, so an index written by an older release is
 * corrected too. The caller holds the resources' locks.
 */
export function addIndexSync(parts: StatementParts, items: IndexedResource[]): void {
  if (items.length === 0) return;
  const owned = ownedBy(parts, items);
  for (const kind of KINDS) {
    const { table, columns } = TABLES[kind];
    const source = unnestRows(parts, kind, items);
    if (!source) {
      parts.ctes.push(`DELETE FROM ${table} WHERE ${owned()}`);
      continue;
    }
    // Both CTEs are read twice and so computed once. The stored rows are found through the
    // (resource_type, resource_id) index only: an anti-join straight against the table may be
    // planned as a scan of all of it while the table is small, and a kept plan would keep that.
    const fresh = addCte(parts, source);
    const stored = addCte(
      parts,
      `SELECT resource_type AS t, resource_id AS i, code AS c, ${columns.map(([, column], n) => `${column} AS v${n}`).join(', ')}
         FROM ${table} WHERE ${owned()}`,
    );
    parts.ctes.push(
      `DELETE FROM ${table} o WHERE ${owned('o.')}
         AND NOT EXISTS (SELECT 1 FROM ${fresh} n WHERE ${sameRow(kind, 'table')})`,
      `${insertInto(kind)} SELECT * FROM ${fresh} n
         WHERE NOT EXISTS (SELECT 1 FROM ${stored} o WHERE ${sameRow(kind, 'stored')})`,
    );
  }
}

/** Drops every index row of the given resources (deletion, or before rewriting them). */
export async function deleteIndexRows(q: Queryable, resourceType: string, ids: string[]): Promise<void> {
  const parts: StatementParts = { ctes: [], params: [] };
  addIndexDeletesOf(
    parts,
    ids.map((id) => ({ resourceType, id })),
  );
  await runParts(q, parts);
}

/** Up to this many ids are listed one parameter each; more go as one array (one statement text). */
const MAX_LISTED_IDS = 16;

/**
 * The condition "a row of one of these resources", for any number of index tables: the types and
 * ids are bound once, and each call gives the condition for a table alias (`o.` or none).
 */
function ownedBy(
  parts: StatementParts,
  items: readonly { resourceType: string; id: string }[],
): (alias?: string) => string {
  const byType = new Map<string, string[]>();
  for (const it of items) {
    const list = byType.get(it.resourceType);
    if (list) list.push(it.id);
    else byType.set(it.resourceType, [it.id]);
  }
  // A few ids as plain parameters: over an array PostgreSQL planned the statement anew on every
  // run (the array's length changes its estimates), and a transaction's statement is large —
  // identity's golden-record writes spent ~3 ms planning each. Listed, the plan is kept per count.
  const groups = [...byType].map(([type, ids]) => ({
    type: `$${parts.params.push(type)}`,
    match:
      ids.length > MAX_LISTED_IDS
        ? `= ANY(${bind(parts, ids, 'text[]')})`
        : ids.length === 1
          ? `= $${parts.params.push(ids[0])}`
          : `IN (${ids.map((id) => `$${parts.params.push(id)}`).join(', ')})`,
  }));
  return (alias = '') => {
    const one = (g: (typeof groups)[number]) =>
      `${alias}resource_type = ${g.type} AND ${alias}resource_id ${g.match}`;
    return groups.length === 1 ? one(groups[0]!) : `(${groups.map((g) => `(${one(g)})`).join(' OR ')})`;
  };
}

function insertInto(kind: Kind): string {
  const { table, columns } = TABLES[kind];
  return `INSERT INTO ${table} (resource_type, resource_id, code, ${columns.map((c) => c[1]).join(', ')})`;
}

/**
 * `n` (a new row: t, i, c, v0…) holds the same values as `o`: a row of the table itself, or one of
 * the `stored` CTE, which names its columns as `n` does.
 */
function sameRow(kind: Kind, o: 'table' | 'stored'): string {
  const name = (column: string, short: string) => (o === 'table' ? `o.${column}` : `o.${short}`);
  const keys = [
    `${name('resource_type', 't')} = n.t`,
    `${name('resource_id', 'i')} = n.i`,
    `${name('code', 'c')} = n.c`,
  ];
  const same = TABLES[kind].columns.map(([, column, cast], n) =>
    cast === 'numeric'
      ? `${name(column, `v${n}`)}::text IS NOT DISTINCT FROM n.v${n}::text`
      : `${name(column, `v${n}`)} IS NOT DISTINCT FROM n.v${n}`,
  );
  return [...keys, ...same].join(' AND ');
}

/**
 * `SELECT t, i, c, v0, … FROM unnest(…)`: the rows of one kind of all `items`, one array per
 * column (so the text is the same whatever the number of rows); undefined when there are none.
 */
function unnestRows(parts: StatementParts, kind: Kind, items: IndexedResource[]): string | undefined {
  const { columns } = TABLES[kind];
  const t: string[] = [];
  const i: string[] = [];
  const c: string[] = [];
  const values: unknown[][] = columns.map(() => []);
  for (const it of items) {
    for (const row of it.rows[kind] as unknown as Record<string, unknown>[]) {
      t.push(it.resourceType);
      i.push(it.id);
      c.push(row.code as string);
      columns.forEach(([field, , cast], n) =>
        values[n]!.push(cast === 'grams' ? JSON.stringify(row[field]) : row[field]),
      );
    }
  }
  if (t.length === 0) return undefined;
  const arrays = [
    bind(parts, t, 'text[]'),
    bind(parts, i, 'text[]'),
    bind(parts, c, 'text[]'),
    ...columns.map(([, , cast], n) => bind(parts, values[n], `${cast === 'grams' ? 'text' : cast}[]`)),
  ];
  const names = columns.map((_, n) => `v${n}`);
  const selected = columns.map(([, , cast], n) =>
    cast === 'grams' ? `ARRAY(SELECT jsonb_array_elements_text(v${n}::jsonb)) AS v${n}` : `v${n}`,
  );
  return `SELECT t, i, c, ${selected.join(', ')} FROM unnest(${arrays.join(', ')}) AS x(t, i, c, ${names.join(', ')})`;
}
