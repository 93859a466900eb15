import type { OperationOutcomeIssue } from 'fhir/r4';
import type { Queryable } from '../../db/database.ts';
import { issue } from '../../kernel/outcomes.ts';
import { STORED_COLUMNS, toStored } from '../store/read.ts';
import type { StoredResource } from '../types.ts';
import { SqlParams } from './sql-builder.ts';
import type { IncludeSpec, VisibleIf } from './types.ts';

/** At most this many included resources per page: a `_revinclude` on a busy Patient can be huge. */
export const MAX_INCLUDES = 1000;

/**
 * `_include` (what the page's resources point to) and `_revinclude` (what points to them),
 * one level, through `sp_reference`. Deduplicated, never repeating a match, and filtered by
 * the same visibility predicate as the matches.
 */
export async function loadIncludes(
  db: Queryable,
  specs: IncludeSpec[],
  matches: StoredResource[],
  visibleIf: VisibleIf | undefined,
): Promise<{ includes: StoredResource[]; issues: OperationOutcomeIssue[] }> {
  const seen = new Set(matches.map((m) => `${m.resourceType}/${m.id}`));
  const includes: StoredResource[] = [];
  const issues: OperationOutcomeIssue[] = [];
  if (matches.length === 0) return { includes, issues };
  for (const spec of specs) {
    const sql = new SqlParams();
    const where = spec.reverse ? reverseWhere(spec, matches, sql) : forwardWhere(spec, matches, sql);
    if (!where) continue;
    const visible = visibleIf ? ` AND (${visibleIf('t', sql.bind)})` : '';
    const { rows } = await db.query(
      `SELECT ${STORED_COLUMNS} FROM resource t WHERE NOT t.deleted AND ${where}${visible}
        ORDER BY t.resource_type, t.id LIMIT ${sql.bind(MAX_INCLUDES + 1, 'integer')}`,
      sql.values,
    );
    for (const row of rows) {
      const stored = toStored(row);
      const key = `${stored.resourceType}/${stored.id}`;
      if (seen.has(key)) continue;
      seen.add(key);
      includes.push(stored);
    }
    if (rows.length > MAX_INCLUDES || includes.length > MAX_INCLUDES) {
      issues.push(
        issue({
          severity: 'warning',
          code: 'incomplete',
          diagnostics: `More than ${MAX_INCLUDES} resources to include; the list is cut short (use a smaller _count)`,
        }),
      );
      includes.length = Math.min(includes.length, MAX_INCLUDES);
      break;
    }
  }
  return { includes, issues };
}

function forwardWhere(spec: IncludeSpec, matches: StoredResource[], sql: SqlParams): string | undefined {
  const ids = matches.filter((m) => m.resourceType === spec.sourceType).map((m) => m.id);
  if (ids.length === 0) return undefined;
  const target = spec.targetType ? ` AND x.target_type = ${sql.bind(spec.targetType)}` : '';
  return (
    `(t.resource_type, t.id) IN (SELECT x.target_type, x.target_id FROM sp_reference x` +
    ` WHERE x.resource_type = ${sql.bind(spec.sourceType)} AND x.resource_id = ANY(${sql.bind(ids, 'text[]')})` +
    ` AND x.code = ${sql.bind(spec.code)} AND x.target_id IS NOT NULL${target})`
  );
}

function reverseWhere(spec: IncludeSpec, matches: StoredResource[], sql: SqlParams): string | undefined {
  const targets = spec.targetType ? matches.filter((m) => m.resourceType === spec.targetType) : matches;
  if (targets.length === 0) return undefined;
  const type = sql.bind(spec.sourceType);
  return (
    `t.resource_type = ${type} AND t.id IN (SELECT x.resource_id FROM sp_reference x` +
    ` WHERE x.resource_type = ${type} AND x.code = ${sql.bind(spec.code)}` +
    ` AND (x.target_type, x.target_id) IN (SELECT * FROM unnest(${sql.bind(
      targets.map((m) => m.resourceType),
      'text[]',
    )}, ${sql.bind(
      targets.map((m) => m.id),
      'text[]',
    )})))`
  );
}
