import type { Queryable } from '../db/database.ts';
import type { CallerAccess } from './request-access.ts';
import { sinceOf } from './request-access.ts';
import { isSensitive, sourceInstitution } from './resource-labels.ts';

type Json = Record<string, any>;

/** One regional person as an operation found it: the golden record and the source records. */
export interface PersonRecords {
  goldenId: string;
  recordIds: string[];
}

export interface PersonDecision {
  allowed: boolean;
  /** A clinician sees the person only through a break-the-glass grant (the audit says BTG). */
  byGrant: boolean;
  /** Which of the person's resources the caller may see (sensitivity, consent per source). */
  visible: (resource: Json) => boolean;
}

const ALL = () => true;

/**
 * The policy's verdict on a whole person, for the operations that read one person across
 * institutions ($summary, $everything, PIXm): the same SQL functions as the row predicate, asked
 * once for the person instead of once per row.
 */
export async function decidePerson(
  db: Queryable,
  access: CallerAccess,
  person: PersonRecords,
): Promise<PersonDecision> {
  const { caller } = access;
  switch (caller.kind) {
    case 'full':
      return { allowed: true, byGrant: false, visible: ALL };
    case 'person': {
      const r = await db.query<{ own: boolean }>(
        `SELECT hie_person_of($1) = $2 OR hie_person_of($1) = ANY($3::text[]) OR $1 = ANY($3::text[]) AS own`,
        [caller.patient, person.goldenId, person.recordIds],
      );
      return { allowed: r.rows[0]?.own === true, byGrant: false, visible: ALL };
    }
    case 'clinician':
      return decideForClinician(db, access, person);
    default:
      return { allowed: false, byGrant: false, visible: () => false };
  }
}

async function decideForClinician(
  db: Queryable,
  access: CallerAccess,
  person: PersonRecords,
): Promise<PersonDecision> {
  const { caller } = access;
  const settings = access.settings;
  const r = await db.query<{ consent: boolean; care: boolean; grant: boolean; denied: string[] }>(
    `WITH p AS (SELECT ARRAY(SELECT DISTINCT unnest(hie_person_records($1) || $2::text[])) AS records)
     SELECT hie_consent_permits(p.records, $3, $4) AS consent,
            hie_care_relationship(p.records, $3, $5::text, $6::timestamptz, $7) AS care,
            EXISTS (SELECT 1 FROM access_grant g WHERE g.person_id = $1 AND g.issuer = $8 AND g.subject = $9
                      AND g.expires_at > now()) AS grant,
            hie_consent_denied_sources(p.records) AS denied
       FROM p`,
    [
      person.goldenId,
      person.recordIds,
      caller.institution,
      settings.consentDefault === 'permit',
      caller.practitioner ?? null,
      sinceOf(settings, access.now),
      settings.episodeTypeSystem,
      caller.issuer,
      caller.subject,
    ],
  );
  const row = r.rows[0];
  const allowed = row !== undefined && row.consent && (row.care || row.grant);
  const denied = new Set(row?.denied ?? []);
  const own = caller.institution;
  return {
    allowed,
    byGrant: allowed && !row!.care,
    visible: (resource) => {
      const source = sourceInstitution(resource);
      if (source === own) return true;
      if (isSensitive(resource)) return false;
      return source === undefined || !denied.has(source);
    },
  };
}
