import type { OperationOutcomeIssue } from 'fhir/r4';
import type { Queryable } from '../../db/database.ts';
import { PLAN_FOR_VALUES } from '../../db/prepared-statements.ts';
import { badRequest, fail, notFound } from '../../kernel/outcomes.ts';
import type { FhirModel } from '../fhir-model.ts';
import { toStored } from '../store/read.ts';
import type { StoredResource } from '../types.ts';
import { loadIncludes } from './includes.ts';
import { parseCriterion, type CriteriaContext } from './parse-criteria.ts';
import { parseSearchRequest } from './parse-request.ts';
import { SqlParams } from './sql-builder.ts';
import { criterionSql } from './sql-criteria.ts';
import {
  afterCursorSql,
  decodeCursor,
  encodeCursor,
  orderBy,
  sortColumns,
  sortSignature,
  type Cursor,
} from './sort-cursor.ts';
import type { Criterion, ParsedSearch, SearchRequest, SearchResult, VisibleIf } from './types.ts';

/**
 * FHIR search over the index tables: parse → one SQL statement for the page (+ one for the
 * count when asked) → includes. The page is chosen by keyset on (sort keys, type, id) inside a
 * CTE, and only the page's rows are then read with their stored JSON text, served unparsed.
 */
export async function search(db: Queryable, model: FhirModel, req: SearchRequest): Promise<SearchResult> {
  const ctx: CriteriaContext = { model, baseUrl: req.baseUrl };
  const parsed = parseSearchRequest(ctx, req);
  const countOnly = parsed.summary === 'count' || parsed.count === 0;
  const page = countOnly ? { rows: [], next: undefined } : await fetchPage(db, parsed, req.visibleIf);
  let total: number | undefined;
  if (countOnly || parsed.total === 'accurate' || parsed.total === 'estimate') {
    total = await countMatches(db, parsed, req.visibleIf);
  } else if (parsed.total === undefined && parsed.cursor === undefined && page.next === undefined) {
    total = page.rows.length; // the whole result is on this first page: the count is free
  }
  const { includes, issues } = await loadIncludes(db, parsed.includes, page.rows, req.visibleIf);
  return searchResult(req, parsed, page, total, includes, issues);
}

/** The answer to one search from its page, count and includes. */
export function searchResult(
  req: SearchRequest,
  parsed: ParsedSearch,
  page: { rows: StoredResource[]; next: string | undefined },
  total: number | undefined,
  includes: StoredResource[],
  issues: OperationOutcomeIssue[],
): SearchResult {
  const link = (extra: [string, string][]) =>
    searchUrl(req.baseUrl, req.resourceType, [...parsed.used, ...extra]);
  return {
    matches: page.rows,
    includes,
    total,
    selfUrl: link(parsed.cursor ? [['_cursor', parsed.cursor]] : []),
    nextUrl: page.next ? link([['_cursor', page.next]]) : undefined,
    issues: [...parsed.issues, ...issues],
    ...(parsed.elements ? { elements: parsed.elements } : {}),
    ...(parsed.summary ? { summary: parsed.summary } : {}),
  };
}

/** The WHERE shared by the page and the count: type, not deleted, criteria, visibility. */
export function whereSql(
  parsed: ParsedSearch,
  criteria: Criterion[],
  sql: SqlParams,
  visibleIf: VisibleIf | undefined,
): string {
  const parts = ['NOT r.deleted'];
  if (parsed.types.length === 1) parts.push(`r.resource_type = ${sql.bind(parsed.types[0])}`);
  else if (parsed.types.length > 1) parts.push(`r.resource_type = ANY(${sql.bind(parsed.types, 'text[]')})`);
  for (const c of criteria) parts.push(criterionSql(c, 'r', sql, visibleIf));
  if (visibleIf) parts.push(`(${visibleIf('r', sql.bind)})`);
  return parts.join('\n    AND ');
}

async function fetchPage(
  db: Queryable,
  parsed: ParsedSearch,
  visibleIf: VisibleIf | undefined,
): Promise<{ rows: StoredResource[]; next: string | undefined }> {
  const sql = new SqlParams();
  const columns = sortColumns(parsed.sort, 'r', sql);
  const signature = sortSignature(parsed.sort);
  let where = whereSql(parsed, parsed.criteria, sql, visibleIf);
  if (parsed.cursor !== undefined) {
    where += `\n    AND ${afterCursorSql(columns, decodeCursor(parsed.cursor, signature, columns), 'r', sql)}`;
  }
  const keys = columns.map((c, i) => `, ${c.expr} AS s${i}`).join('');
  const keyText = columns.map((_, i) => `, p.s${i}::text AS k${i}`).join('');
  const text = `WITH page AS (
  SELECT r.resource_type AS rt, r.id AS rid${keys}
    FROM resource r
   WHERE ${where}
   ORDER BY ${orderBy(columns, '', 'rt', 'rid')}
   LIMIT ${sql.bind(parsed.count + 1, 'integer')})
SELECT x.resource_type, x.id, x.version_id, x.last_updated, x.deleted, x.content::text AS json${keyText}
  FROM page p JOIN resource x ON x.resource_type = p.rt AND x.id = p.rid
 ORDER BY ${orderBy(columns, 'p.', 'rt', 'rid')}`;
  const { rows } = await runQuery(db, text, sql.values, !byIdentifiersOnly(parsed, visibleIf));
  const more = rows.length > parsed.count;
  const pageRows = more ? rows.slice(0, parsed.count) : rows;
  let next: string | undefined;
  if (more) {
    const last = pageRows[pageRows.length - 1]!;
    const cursor: Cursor = {
      values: columns.map((_, i) => last[`k${i}`] ?? null),
      type: last.resource_type,
      id: last.id,
    };
    next = encodeCursor(signature, cursor);
  }
  return { rows: pageRows.map(toStored), next };
}

/**
 * A search by full identifiers alone (`identifier=system|value,…`: the pipeline's look-ups). One
 * identifier is about as selective as another, so the statement may keep a generic plan; planned
 * for its values it cost ten times its execution in a census of the ingest path.
 */
export function byIdentifiersOnly(parsed: ParsedSearch, visibleIf: VisibleIf | undefined): boolean {
  return (
    visibleIf === undefined &&
    parsed.cursor === undefined &&
    parsed.sort.length === 0 &&
    parsed.criteria.length > 0 &&
    parsed.criteria.every(
      (c) =>
        c.kind === 'token' &&
        c.code === 'identifier' &&
        !c.not &&
        c.values.every((v) => typeof v.system === 'string' && v.code !== undefined),
    )
  );
}

async function countMatches(
  db: Queryable,
  parsed: ParsedSearch,
  visibleIf: VisibleIf | undefined,
): Promise<number> {
  const sql = new SqlParams();
  const where = whereSql(parsed, parsed.criteria, sql, visibleIf);
  const { rows } = await runQuery(db, `SELECT count(*)::int AS n FROM resource r WHERE ${where}`, sql.values);
  return rows[0].n as number;
}

/**
 * Values are checked before they reach SQL; a cast that PostgreSQL still refuses (a date past
 * its range, a hand-made cursor) is the client's error, not the server's.
 */
export async function runQuery(db: Queryable, text: string, values: unknown[], planForValues = true) {
  try {
    return await db.query(planForValues ? PLAN_FOR_VALUES + text : text, values);
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (['22007', '22008', '22P02', '22003', '22023'].includes(code)) {
      throw badRequest(`A search value is out of range: ${(err as Error).message}`);
    }
    throw err;
  }
}

/** `${base}/${type}?a=b&…` with the characters FHIR uses in names and values left readable. */
export function searchUrl(
  baseUrl: string,
  resourceType: string | undefined,
  params: [string, string][],
): string {
  const enc = (s: string) =>
    encodeURIComponent(s).replace(/%3A/gi, ':').replace(/%7C/gi, '|').replace(/%2C/gi, ',');
  const query = params.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&');
  const path = resourceType ? `${baseUrl}/${resourceType}` : baseUrl;
  return query ? `${path}?${query}` : path;
}

/**
 * Ids of live resources of `resourceType` matching `params`, for conditional create, update,
 * delete and conditional references. Strict: an unknown or unsupported parameter, a result
 * parameter (`_count`, `_sort` …) or no criteria at all is a 400 — a conditional write must
 * never act on a wider set than asked. Returns at most 2 ids: enough to tell none, one, many.
 */
export async function findIds(
  db: Queryable,
  model: FhirModel,
  resourceType: string,
  params: [string, string][],
  opts: { baseUrl?: string; visibleIf?: VisibleIf } = {},
): Promise<string[]> {
  const [ids] = await findIdsMany(db, model, [{ resourceType, params }], opts);
  return ids!;
}

/**
 * `findIds` for several criteria in one statement (a transaction's conditional entries: an ORU
 * has nine): the answers come back in the order asked. One round trip instead of one each.
 */
export async function findIdsMany(
  db: Queryable,
  model: FhirModel,
  asked: readonly { resourceType: string; params: [string, string][] }[],
  opts: { baseUrl?: string; visibleIf?: VisibleIf } = {},
): Promise<string[][]> {
  if (asked.length === 0) return [];
  const sql = new SqlParams();
  const parts = asked.map(({ resourceType, params }, k) => {
    const where = conditionalWhere(model, resourceType, params, sql, opts);
    return `(SELECT ${k} AS k, r.id FROM resource r WHERE ${where} ORDER BY r.id LIMIT 2)`;
  });
  // A conditional key is a business identifier: one value is as selective as another, so the
  // statement may keep a generic plan (a search by name or code is planned for its values).
  const { rows } = await runQuery(
    db,
    parts.length === 1 ? parts[0]! : `${parts.join(' UNION ALL ')} ORDER BY k, id`,
    sql.values,
    false,
  );
  const found = asked.map((): string[] => []);
  for (const row of rows) found[row.k as number]!.push(row.id as string);
  return found;
}

function conditionalWhere(
  model: FhirModel,
  resourceType: string,
  params: [string, string][],
  sql: SqlParams,
  opts: { baseUrl?: string; visibleIf?: VisibleIf },
): string {
  if (!model.isResourceType(resourceType)) throw notFound(`Unknown resource type ${resourceType}`);
  if (params.length === 0) throw badRequest(`A conditional request on ${resourceType} needs search criteria`);
  const ctx: CriteriaContext = { model, baseUrl: opts.baseUrl ?? '' };
  const criteria = params.map(([name, value]) => {
    if (
      /^_(count|sort|total|summary|elements|include|revinclude|type|cursor|format|pretty)(:|$)/.test(name)
    ) {
      throw badRequest(`Parameter ${name} is not allowed in conditional criteria`, name);
    }
    if (value === '') throw badRequest(`Parameter ${name} has an empty value`, name);
    const c = parseCriterion(ctx, [resourceType], name, value);
    if (!c)
      throw fail(400, {
        code: 'not-supported',
        diagnostics: `Unknown search parameter '${name}' for ${resourceType}`,
        expression: name,
      });
    return c;
  });
  const parsed = { types: [resourceType] } as ParsedSearch;
  return whereSql(parsed, criteria, sql, opts.visibleIf);
}
