import type { Queryable } from '../db/database.ts';

/**
 * The regional person (golden `Patient/{id}`) of a Patient record, for the audit middleware's
 * `personOf` option: an AuditEvent names the requested record and, as a further entity, the
 * person it belongs to (CONTRACTS "Access, consent, audit") — also when the caller is the
 * operator, whose requests the row policy never looks at.
 */
export function personOfRecord(db: Queryable): (patientRef: string) => Promise<string | undefined> {
  return async (patientRef) => {
    const id = /^Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(patientRef)?.[1];
    if (!id) return undefined;
    const r = await db.query<{ person: string }>('SELECT hie_person_of($1) AS person', [id]);
    const person = r.rows[0]?.person;
    return person ? `Patient/${person}` : undefined;
  };
}
