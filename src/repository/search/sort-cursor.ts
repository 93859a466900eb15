import { badRequest } from '../../kernel/outcomes.ts';
import type { SqlParams } from './sql-builder.ts';
import type { SortKey } from './types.ts';

/**
 * Sorting and keyset paging. A `next` link carries the last row's sort values and (type, id)
 * as an opaque cursor; the next page starts strictly after that position. Unlike OFFSET, rows
 * written or deleted meanwhile cannot shift the window, so no original row is repeated or
 * skipped. Rows without a value sort last in both directions. The (type, id) tie-breaker
 * makes the order total.
 */
export interface SortColumn {
  /** SQL expression on the owner row. */
  expr: string;
  cast: 'text' | 'timestamptz' | 'numeric';
  descending: boolean;
}

export interface Cursor {
  values: (string | null)[];
  type: string;
  id: string;
}

const TABLE: Record<string, { table: string; asc: string; desc: string; cast: SortColumn['cast'] }> = {
  // Dates: ascending by the earliest start, descending by the latest end (FHIR R4 §3.1.1.4.6 sorting).
  date: { table: 'sp_date', asc: 'min(a.lo)', desc: 'max(a.hi)', cast: 'timestamptz' },
  string: { table: 'sp_string', asc: 'min(a.norm)', desc: 'max(a.norm)', cast: 'text' },
  token: { table: 'sp_token', asc: 'min(a.value)', desc: 'max(a.value)', cast: 'text' },
  number: { table: 'sp_number', asc: 'min(a.value)', desc: 'max(a.value)', cast: 'numeric' },
  quantity: { table: 'sp_quantity', asc: 'min(a.value)', desc: 'max(a.value)', cast: 'numeric' },
};

export function sortColumns(keys: SortKey[], owner: string, sql: SqlParams): SortColumn[] {
  return keys.map((k) => {
    if (k.kind === 'id') return { expr: `${owner}.id`, cast: 'text', descending: k.descending };
    if (k.kind === 'lastUpdated')
      return { expr: `${owner}.last_updated`, cast: 'timestamptz', descending: k.descending };
    const t = TABLE[k.kind]!;
    const expr =
      `(SELECT ${k.descending ? t.desc : t.asc} FROM ${t.table} a WHERE a.resource_type = ${owner}.resource_type` +
      ` AND a.resource_id = ${owner}.id AND a.code = ${sql.bind(k.code)})`;
    return { expr, cast: t.cast, descending: k.descending };
  });
}

/** The `_sort` a cursor belongs to, so a cursor reused with another order is refused. */
export function sortSignature(keys: SortKey[]): string {
  return keys
    .map(
      (k) =>
        `${k.descending ? '-' : ''}${k.kind === 'id' ? '_id' : k.kind === 'lastUpdated' ? '_lastUpdated' : k.code}`,
    )
    .join(',');
}

export function encodeCursor(signature: string, cursor: Cursor): string {
  return Buffer.from(
    JSON.stringify({ s: signature, v: cursor.values, t: cursor.type, i: cursor.id }),
  ).toString('base64url');
}

const VALUE_SHAPE: Record<SortColumn['cast'], RegExp> = {
  timestamptz: /^(-?infinity|\d{4,}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,6})?[+-]\d\d(:\d\d){0,2}( BC)?)$/,
  numeric: /^-?\d{1,1000}(\.\d{1,1000})?$/,
  text: /^[\s\S]{0,10000}$/,
};

export function decodeCursor(text: string, signature: string, columns: SortColumn[]): Cursor {
  const invalid = () =>
    badRequest('_cursor is not valid for this search; start again from the first page', '_cursor');
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  const c = raw as { s?: unknown; v?: unknown; t?: unknown; i?: unknown };
  if (!c || typeof c !== 'object' || c.s !== signature || typeof c.t !== 'string' || typeof c.i !== 'string')
    throw invalid();
  if (!Array.isArray(c.v) || c.v.length !== columns.length) throw invalid();
  const ok = c.v.every(
    (v, n) => v === null || (typeof v === 'string' && VALUE_SHAPE[columns[n]!.cast].test(v)),
  );
  if (!ok) throw invalid();
  return { values: c.v as (string | null)[], type: c.t, id: c.i };
}

/** `ORDER BY` items for the sort columns, named s0, s1 … in the select list. */
export function orderBy(columns: SortColumn[], prefix: string, typeCol: string, idCol: string): string {
  const items = columns.map((c, i) => `${prefix}s${i} ${c.descending ? 'DESC' : 'ASC'} NULLS LAST`);
  return [...items, `${prefix}${typeCol}`, `${prefix}${idCol}`].join(', ');
}

/** Rows strictly after the cursor in the sort order: (k0 after) OR (k0 equal AND k1 after) OR … */
export function afterCursorSql(columns: SortColumn[], cursor: Cursor, owner: string, sql: SqlParams): string {
  const terms: string[] = [];
  const equal: string[] = [];
  columns.forEach((col, i) => {
    const v = cursor.values[i] ?? null;
    // NULLS LAST: nothing sorts after a missing value within this key.
    const after =
      v === null
        ? 'false'
        : `(${col.expr} IS NULL OR ${col.expr} ${col.descending ? '<' : '>'} ${sql.bind(v, col.cast)})`;
    terms.push([...equal, after].join(' AND '));
    equal.push(v === null ? `${col.expr} IS NULL` : `${col.expr} = ${sql.bind(v, col.cast)}`);
  });
  const tie = `(${owner}.resource_type, ${owner}.id) > (${sql.bind(cursor.type)}, ${sql.bind(cursor.id)})`;
  terms.push([...equal, tie].join(' AND '));
  return terms.length === 1 ? terms[0]! : `(${terms.map((t) => `(${t})`).join(' OR ')})`;
}
