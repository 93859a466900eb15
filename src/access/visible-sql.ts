import type { VisibleIf } from '../repository/search/types.ts';
import { PUBLIC_TYPES, type Caller } from './caller.ts';
import type { PolicySettings } from './policy-settings.ts';

/**
 * The SQL predicate that decides, row by row, which resources a caller sees; undefined for the
 * operator and the pipeline (everything). The same predicate filters searches (before paging and
 * `total`), `_include`/`_revinclude`, chains, `_has`, conditional matches and reads by id, so no
 * route can show what a search would hide. The rules themselves are the SQL functions of
 * migration 008-access.sql.
 */
export function visibleIfFor(caller: Caller, settings: PolicySettings, now: Date): VisibleIf | undefined {
  switch (caller.kind) {
    case 'full':
      return undefined;
    case 'none':
      return (r, bind) => publicType(r, bind);
    case 'institution':
      return (r, bind) =>
        `(${publicType(r, bind)} OR hie_source_institution(${r}.content) = ${bind(caller.institution)})`;
    case 'person':
      return (r, bind) =>
        `(${publicType(r, bind)} OR (cardinality(${r}.compartments) > 0 AND NOT EXISTS (
            SELECT 1 FROM unnest(${r}.compartments) AS pc(id)
            WHERE hie_person_of(pc.id) IS DISTINCT FROM hie_person_of(${bind(caller.patient)}))))`;
    case 'clinician':
      return (r, bind) => clinicianPredicate(r, bind, caller, settings, now);
    case 'privacy-officer':
      return (r, bind) =>
        `(${publicType(r, bind)} OR ${institutionAuditEvents(r, bind(caller.institution))})`;
  }
}

function publicType(r: string, bind: (v: unknown) => string): string {
  return `${r}.resource_type = ANY(${bind(PUBLIC_TYPES)}::text[])`;
}

/**
 * A clinician sees a personal resource when every person it belongs to is open to them (care
 * relationship or break-the-glass, and consent permitting their institution), it is not withheld
 * by the person's consent from its source institution, and it is not labelled sensitive — unless
 * their own institution recorded it. A resource that names no patient is seen by its owner only.
 * AuditEvents are for the operator, the person, and (their institution's) privacy officers.
 */
function clinicianPredicate(
  r: string,
  bind: (v: unknown) => string,
  caller: Caller,
  settings: PolicySettings,
  now: Date,
): string {
  const inst = bind(caller.institution);
  const since = bind(new Date(now.getTime() - settings.careRelationshipDays * 86_400_000).toISOString());
  const personOpen = `hie_clinician_may_see_person(hie_person_of(pc.id), ${inst}, ${bind(caller.practitioner ?? null)}::text,
      ${since}::timestamptz, ${bind(settings.episodeTypeSystem)}, ${bind(caller.issuer)}, ${bind(caller.subject)},
      ${bind(settings.consentDefault === 'permit')}::boolean)`;
  const source = `hie_source_institution(${r}.content)`;
  const notWithheld = `(${source} IS NULL OR ${source} = ${inst}
      OR NOT (${source} = ANY(hie_consent_denied_sources(hie_person_records(hie_person_of(pc.id))))))`;
  const personal = `(${r}.resource_type <> 'AuditEvent' AND CASE WHEN cardinality(${r}.compartments) = 0
      THEN ${source} = ${inst}
      ELSE (NOT hie_is_sensitive(${r}.content) OR ${source} = ${inst})
        AND NOT EXISTS (SELECT 1 FROM unnest(${r}.compartments) AS pc(id) WHERE NOT (${personOpen} AND ${notWithheld}))
      END)`;
  const audit = caller.privacyOfficer ? ` OR ${institutionAuditEvents(r, inst)}` : '';
  return `(${publicType(r, bind)} OR ${personal}${audit})`;
}

/** AuditEvents whose agents include the institution: what its privacy officer reviews. */
function institutionAuditEvents(r: string, inst: string): string {
  return `(${r}.resource_type = 'AuditEvent' AND EXISTS (SELECT 1 FROM sp_reference ax
      WHERE ax.resource_type = 'AuditEvent' AND ax.resource_id = ${r}.id AND ax.code = 'agent'
        AND ax.target_type = 'Organization' AND ax.target_id = ${inst}))`;
}
