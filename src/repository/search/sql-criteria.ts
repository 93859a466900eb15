import { containsGrams, escapeLike } from './param-values.ts';
import type { SqlParams } from './sql-builder.ts';
import type {
  Criterion,
  DateValue,
  IndexTable,
  NumberValue,
  QuantityValue,
  ReferenceValue,
  TokenValue,
  VisibleIf,
} from './types.ts';

/**
 * Criteria as SQL predicates on one `resource` row (`owner` is its alias). Each parameter
 * becomes an `EXISTS` on its index table joined by (resource_type, resource_id), so that every
 * lookup can use the (code, value …) indexes and values of one resource never mix across rows.
 */
export function criterionSql(c: Criterion, owner: string, sql: SqlParams, visibleIf?: VisibleIf): string {
  switch (c.kind) {
    case 'id':
      return `${owner}.id = ANY(${sql.bind(c.ids, 'text[]')})`;
    case 'lastUpdated':
      return anyOf(c.values.map((v) => dateSql(v, `${owner}.last_updated`, `${owner}.last_updated`, sql)));
    case 'token': {
      const codes = c.values.map((v) => v.code);
      const exists = indexExists('sp_token', owner, c.code, sql, (a) =>
        boundedAnyOf(
          `${a}.value`,
          codes,
          c.values.map((v) => tokenSql(v, a, sql)),
          sql,
        ),
      );
      return c.not ? `NOT ${exists}` : exists;
    }
    case 'token-text':
      return indexExists('sp_token', owner, c.code, sql, (a) =>
        anyOf(c.values.map((v) => `lower(${a}.text) LIKE ${sql.bind(`${escapeLike(v.toLowerCase())}%`)}`)),
      );
    case 'string':
      return indexExists('sp_string', owner, c.code, sql, (a) =>
        anyOf(c.values.map((v) => stringSql(c.match, v, a, sql))),
      );
    case 'date':
      return indexExists('sp_date', owner, c.code, sql, (a) =>
        anyOf(c.values.map((v) => dateSql(v, `${a}.lo`, `${a}.hi`, sql))),
      );
    case 'number':
      return indexExists('sp_number', owner, c.code, sql, (a) =>
        anyOf(c.values.map((v) => numberSql(v, `${a}.value`, sql))),
      );
    case 'quantity':
      return indexExists('sp_quantity', owner, c.code, sql, (a) =>
        anyOf(c.values.map((v) => quantitySql(v, a, sql))),
      );
    case 'uri':
      return indexExists('sp_uri', owner, c.code, sql, (a) =>
        boundedAnyOf(
          `${a}.value`,
          c.values.map((v) => (c.match === 'exact' ? v : undefined)),
          c.values.map((v) => uriSql(c.match, v, a, sql)),
          sql,
        ),
      );
    case 'reference':
      return indexExists('sp_reference', owner, c.code, sql, (a) =>
        boundedAnyOf(
          `${a}.target_id`,
          c.values.map((v) => ('id' in v ? v.id : undefined)),
          c.values.map((v) => referenceSql(v, a, sql)),
          sql,
        ),
      );
    case 'missing': {
      const exists = indexExists(c.table, owner, c.code, sql, () => 'true');
      return c.missing ? `NOT ${exists}` : exists;
    }
    case 'chain':
      return chainSql(c, owner, sql, visibleIf);
    case 'has':
      return hasSql(c, owner, sql, visibleIf);
  }
}

function anyOf(parts: string[]): string {
  return parts.length === 1 ? parts[0]! : `(${parts.map((p) => `(${p})`).join(' OR ')})`;
}

/**
 * Several alternatives that each pin the indexed key column (`keys[i]`, undefined where one does
 * not): the keys also as one `= ANY(array)`, which the index on (code, key …) takes as its
 * condition. An OR of (system AND value) pairs alone was only a filter in the generic plan a
 * prepared statement keeps, so the scan read every row of the parameter: the worker's look-up of
 * an ORU's six Observation identifiers took ~1.2 ms at 1,200 Observations, and grew with the store.
 */
function boundedAnyOf(
  column: string,
  keys: (string | undefined)[],
  alternatives: string[],
  sql: SqlParams,
): string {
  const ors = anyOf(alternatives);
  if (alternatives.length < 2 || keys.some((k) => k === undefined)) return ors;
  return `${column} = ANY(${sql.bind([...new Set(keys as string[])], 'text[]')}) AND ${ors}`;
}

function indexExists(
  table: IndexTable,
  owner: string,
  code: string,
  sql: SqlParams,
  cond: (alias: string) => string,
): string {
  const a = sql.alias('x');
  return (
    `EXISTS (SELECT 1 FROM ${table} ${a} WHERE ${a}.resource_type = ${owner}.resource_type` +
    ` AND ${a}.resource_id = ${owner}.id AND ${a}.code = ${sql.bind(code)} AND ${cond(a)})`
  );
}

function tokenSql(v: TokenValue, a: string, sql: SqlParams): string {
  const parts: string[] = [];
  if (v.system === null) parts.push(`${a}.system IS NULL`);
  else if (v.system !== undefined) parts.push(`${a}.system = ${sql.bind(v.system)}`);
  if (v.code !== undefined) parts.push(`${a}.value = ${sql.bind(v.code)}`);
  return parts.join(' AND ');
}

function stringSql(match: 'starts' | 'exact' | 'contains', v: string, a: string, sql: SqlParams): string {
  if (match === 'exact') return `${a}.exact = ${sql.bind(v)}`;
  if (match === 'starts') return `${a}.norm LIKE ${sql.bind(`${escapeLike(v)}%`)}`;
  // The grams narrow through the GIN index; LIKE then checks the pieces stand together in order.
  return `${a}.grams @> ${sql.bind(containsGrams(v), 'text[]')} AND ${a}.norm LIKE ${sql.bind(`%${escapeLike(v)}%`)}`;
}

/**
 * FHIR R4 §3.1.1.4.6 on closed stored ranges [lo, hi] against the query's [L, N):
 * eq = inside, gt/lt = reaching past the query's end/start, sa/eb = wholly after/before it.
 */
function dateSql(v: DateValue, lo: string, hi: string, sql: SqlParams): string {
  const L = () => sql.bind(v.lo, 'timestamptz');
  const N = () => sql.bind(v.next, 'timestamptz');
  switch (v.prefix) {
    case 'eq':
      return `${lo} >= ${L()} AND ${hi} < ${N()}`;
    case 'ne':
      return `NOT (${lo} >= ${L()} AND ${hi} < ${N()})`;
    case 'gt':
      return `${hi} >= ${N()}`;
    case 'lt':
      return `${lo} < ${L()}`;
    case 'ge':
      return `${hi} >= ${L()}`;
    case 'le':
      return `${lo} < ${N()}`;
    case 'sa':
      return `${lo} >= ${N()}`;
    case 'eb':
      return `${hi} < ${L()}`;
  }
}

function numberSql(v: NumberValue, column: string, sql: SqlParams): string {
  const value = () => sql.bind(v.value, 'numeric');
  switch (v.prefix) {
    case 'eq':
      return `${column} >= ${value()} - ${sql.bind(v.half, 'numeric')} AND ${column} < ${value()} + ${sql.bind(v.half, 'numeric')}`;
    case 'ne':
      return `NOT (${column} >= ${value()} - ${sql.bind(v.half, 'numeric')} AND ${column} < ${value()} + ${sql.bind(v.half, 'numeric')})`;
    case 'gt':
      return `${column} > ${value()}`;
    case 'lt':
      return `${column} < ${value()}`;
    case 'ge':
      return `${column} >= ${value()}`;
    case 'le':
      return `${column} <= ${value()}`;
  }
}

function quantitySql(v: QuantityValue, a: string, sql: SqlParams): string {
  const parts = [numberSql(v.number, `${a}.value`, sql)];
  if (v.system !== undefined) parts.push(`${a}.system = ${sql.bind(v.system)}`);
  if (v.unit !== undefined) parts.push(`${a}.unit = ${sql.bind(v.unit)}`);
  return parts.join(' AND ');
}

function uriSql(match: 'exact' | 'below' | 'above', v: string, a: string, sql: SqlParams): string {
  if (match === 'below') return `starts_with(${a}.value, ${sql.bind(v)})`;
  if (match === 'above') return `starts_with(${sql.bind(v)}, ${a}.value)`;
  return `${a}.value = ${sql.bind(v)}`;
}

function referenceSql(v: ReferenceValue, a: string, sql: SqlParams): string {
  if ('url' in v) return `${a}.url = ${sql.bind(v.url)}`;
  const id = `${a}.target_id = ${sql.bind(v.id)}`;
  return v.targetTypes ? `${id} AND ${a}.target_type = ANY(${sql.bind(v.targetTypes, 'text[]')})` : id;
}

function chainSql(
  c: Extract<Criterion, { kind: 'chain' }>,
  owner: string,
  sql: SqlParams,
  visibleIf?: VisibleIf,
): string {
  const ref = sql.alias('c');
  const target = sql.alias('t');
  const visible = visibleIf ? ` AND (${visibleIf(target, sql.bind)})` : '';
  return (
    `EXISTS (SELECT 1 FROM sp_reference ${ref} JOIN resource ${target} ON ${target}.resource_type = ${ref}.target_type` +
    ` AND ${target}.id = ${ref}.target_id AND NOT ${target}.deleted` +
    ` WHERE ${ref}.resource_type = ${owner}.resource_type AND ${ref}.resource_id = ${owner}.id` +
    ` AND ${ref}.code = ${sql.bind(c.code)} AND ${ref}.target_type = ${sql.bind(c.targetType)}` +
    ` AND ${criterionSql(c.inner, target, sql, visibleIf)}${visible})`
  );
}

function hasSql(
  c: Extract<Criterion, { kind: 'has' }>,
  owner: string,
  sql: SqlParams,
  visibleIf?: VisibleIf,
): string {
  const ref = sql.alias('h');
  const source = sql.alias('s');
  const visible = visibleIf ? ` AND (${visibleIf(source, sql.bind)})` : '';
  return (
    `EXISTS (SELECT 1 FROM sp_reference ${ref} JOIN resource ${source} ON ${source}.resource_type = ${ref}.resource_type` +
    ` AND ${source}.id = ${ref}.resource_id AND NOT ${source}.deleted` +
    ` WHERE ${ref}.target_type = ${owner}.resource_type AND ${ref}.target_id = ${owner}.id` +
    ` AND ${ref}.resource_type = ${sql.bind(c.sourceType)} AND ${ref}.code = ${sql.bind(c.refCode)}` +
    ` AND ${criterionSql(c.inner, source, sql, visibleIf)}${visible})`
  );
}
