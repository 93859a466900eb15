import type { Queryable } from '../db/database.ts';
import type { Person } from './person.ts';

/**
 * The state of a person's record as a short key, read in one statement of index look-ups: the
 * change counters of the person's record ids (migration 011: every write in a Patient's
 * compartment, AuditEvents excepted, adds to them), the number of break-the-glass grants for the
 * person, the newest ConceptMap, the golden record's version and the set of source records. Any
 * write, delete, move between patients, link change, grant or translation change — from this
 * process or another — gives a different key, so what is kept under the old key is not used
 * again: the kept summary (src/summary/summary-cache.ts) and the access decision
 * (src/access/decision-cache.ts). Time-bound rules are why both also expire.
 */
export async function recordStateOf(db: Queryable, person: Person): Promise<string> {
  const goldenId = String(person.golden.id);
  const r = await db.query<{ changes: string; grants: string; maps: string }>(
    `SELECT (SELECT coalesce(sum(changes), 0)::text FROM record_change WHERE record_id = ANY($1::text[])) AS changes,
            (SELECT count(*)::text FROM access_grant WHERE person_id = $2) AS grants,
            coalesce((SELECT max(last_updated)::text FROM resource WHERE resource_type = 'ConceptMap'), '') AS maps`,
    [[goldenId, ...person.sourceIds], goldenId],
  );
  const row = r.rows[0];
  return [
    row?.changes ?? '',
    row?.grants ?? '',
    row?.maps ?? '',
    person.golden.meta?.versionId ?? '',
    [...person.sourceIds].sort().join(','),
  ].join('|');
}
