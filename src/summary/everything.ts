import type { Queryable } from '../db/database.ts';
import { badRequest } from '../kernel/outcomes.ts';
import type { Person } from './person.ts';
import type { VisibleFilter } from './build-summary.ts';

type Json = Record<string, any>;

export interface EverythingQuery {
  since?: string;
  types?: string[];
  count: number;
  /** Opaque keyset position `{type}/{id}` of the last entry of the previous page. */
  after?: string;
}

export const MAX_EVERYTHING_COUNT = 1000;

/** Reads `_since`, `_type`, `_count` and the paging cursor; anything malformed is a 400. */
export function parseEverythingQuery(query: [string, string][]): EverythingQuery {
  const q: EverythingQuery = { count: 100 };
  for (const [name, value] of query) {
    if (name === '_since') {
      if (Number.isNaN(Date.parse(value))) throw badRequest(`_since "${value}" is not an instant`, '_since');
      q.since = new Date(value).toISOString();
    } else if (name === '_type') {
      q.types = [
        ...(q.types ?? []),
        ...value
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean),
      ];
    } else if (name === '_count') {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1)
        throw badRequest(`_count "${value}" is not a positive integer`, '_count');
      q.count = Math.min(n, MAX_EVERYTHING_COUNT);
    } else if (name === '_cursor') {
      if (!/^[A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/.test(value)) throw badRequest('Malformed _cursor', '_cursor');
      q.after = value;
    }
  }
  return q;
}

/**
 * `Patient/{id}/$everything` over every record of the person: all their source Patients and the
 * golden one, and everything in those Patients' compartments; keyset paging on (type, id) so a
 * page costs the same at any depth.
 */
export async function everythingPage(
  db: Queryable,
  person: Person,
  q: EverythingQuery,
  selfUrl: string,
  baseUrl: string,
  visible?: VisibleFilter,
): Promise<Json> {
  const ids = [person.golden.id, ...person.sourceIds];
  const [afterType, afterId] = q.after ? q.after.split('/') : [null, null];
  const r = await db.query<{ resource_type: string; id: string; content: Json }>(
    `SELECT resource_type, id, content FROM resource
      WHERE NOT deleted AND compartments && $1::text[]
        -- Who looked at the record is not part of the record: the access history has its own route.
        AND resource_type <> 'AuditEvent'
        AND ($2::timestamptz IS NULL OR last_updated >= $2)
        AND ($3::text[] IS NULL OR resource_type = ANY($3))
        AND ($4::text IS NULL OR (resource_type, id) > ($4, $5))
      ORDER BY resource_type, id
      LIMIT $6`,
    [ids, q.since ?? null, q.types ?? null, afterType, afterId, q.count + 1],
  );
  const more = r.rows.length > q.count;
  const rows = r.rows.slice(0, q.count);
  const shown = visible ? await visible(rows.map((x) => x.content)) : rows.map((x) => x.content);
  const link: Json[] = [{ relation: 'self', url: pageUrl(selfUrl, q, q.after) }];
  const last = rows[rows.length - 1];
  if (more && last)
    link.push({ relation: 'next', url: pageUrl(selfUrl, q, `${last.resource_type}/${last.id}`) });
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    link,
    entry: shown.map((content) => ({
      fullUrl: `${baseUrl}/${content.resourceType}/${content.id}`,
      resource: content,
      search: { mode: content.resourceType === 'Patient' && ids.includes(content.id) ? 'match' : 'include' },
    })),
  };
}

function pageUrl(selfUrl: string, q: EverythingQuery, after: string | undefined): string {
  const p = new URLSearchParams();
  if (q.since) p.set('_since', q.since);
  if (q.types) p.set('_type', q.types.join(','));
  p.set('_count', String(q.count));
  if (after) p.set('_cursor', after);
  return `${selfUrl}?${p.toString()}`;
}
