import type { Queryable } from '../../db/database.ts';
import type { FhirModel } from '../fhir-model.ts';
import { toStored } from '../store/read.ts';
import type { StoredResource } from '../types.ts';
import type { CriteriaContext } from './parse-criteria.ts';
import { parseSearchRequest } from './parse-request.ts';
import { byIdentifiersOnly, runQuery, searchResult, whereSql } from './run-search.ts';
import { SqlParams } from './sql-builder.ts';
import { encodeCursor, sortSignature } from './sort-cursor.ts';
import type { ParsedSearch, SearchRequest, SearchResult } from './types.ts';

/** A search parsed and found fit to share a statement with others. */
export interface SharedSearch {
  req: SearchRequest;
  parsed: ParsedSearch;
}

/**
 * The search, parsed, when it can share one statement with others: an identifier look-up of one
 * type, by full `system|value`, with nothing but its page asked for (no count, include, summary
 * or elements) — what the worker's look-up batches hold. Undefined for any other search, and for
 * one that does not parse (it then runs alone and gets its own error).
 */
export function shareableSearch(model: FhirModel, req: SearchRequest): SharedSearch | undefined {
  let parsed: ParsedSearch;
  try {
    const ctx: CriteriaContext = { model, baseUrl: req.baseUrl };
    parsed = parseSearchRequest(ctx, req);
  } catch {
    return undefined;
  }
  const plain =
    parsed.types.length === 1 &&
    parsed.count > 0 &&
    parsed.total === undefined &&
    parsed.summary === undefined &&
    parsed.elements === undefined &&
    parsed.includes.length === 0 &&
    parsed.issues.length === 0;
  return plain && byIdentifiersOnly(parsed, req.visibleIf) ? { req, parsed } : undefined;
}

/**
 * Several identifier look-ups in ONE statement (`UNION ALL` of their pages), each answered as
 * `search` would answer it alone. A batch's entries otherwise run one after the other, a round
 * trip each: an ORU's look-ups were four.
 */
export async function searchTogether(
  db: Queryable,
  searches: readonly SharedSearch[],
): Promise<SearchResult[]> {
  const sql = new SqlParams();
  const parts = searches.map(({ req, parsed }, k) => {
    const where = whereSql(parsed, parsed.criteria, sql, req.visibleIf);
    return `SELECT ${k} AS k, x.resource_type, x.id, x.version_id, x.last_updated, x.deleted, x.content::text AS json
  FROM (SELECT r.resource_type AS rt, r.id AS rid FROM resource r
         WHERE ${where}
         ORDER BY r.resource_type, r.id
         LIMIT ${sql.bind(parsed.count + 1, 'integer')}) p
  JOIN resource x ON x.resource_type = p.rt AND x.id = p.rid`;
  });
  const { rows } = await runQuery(
    db,
    `${parts.map((p) => `(${p})`).join('\nUNION ALL\n')}\nORDER BY k, resource_type, id`,
    sql.values,
    false,
  );
  const byK = searches.map((): StoredResource[] => []);
  for (const row of rows) byK[row.k as number]!.push(toStored(row));
  return searches.map(({ req, parsed }, k) => {
    const found = byK[k]!;
    const more = found.length > parsed.count;
    const pageRows = more ? found.slice(0, parsed.count) : found;
    const last = pageRows[pageRows.length - 1];
    // The cursor `search` would give: default order, no sort keys.
    const next =
      more && last
        ? encodeCursor(sortSignature([]), { values: [], type: last.resourceType, id: last.id })
        : undefined;
    // As alone: the whole result on this first page is its count.
    const total = more ? undefined : pageRows.length;
    return searchResult(req, parsed, { rows: pageRows, next }, total, [], []);
  });
}
