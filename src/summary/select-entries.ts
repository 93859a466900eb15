import type { Queryable } from '../db/database.ts';

type Json = Record<string, any>;

/** The IPS rules' knobs: how far back results and encounters reach, how long a vital-sign series is. */
export interface SelectionRules {
  /** Results, encounters and procedures from the last N months before `asOf`. */
  resultMonths: number;
  /** Readings kept per code for the follow-up series (blood pressure, glucose). */
  seriesLength: number;
}

export const DEFAULT_RULES: SelectionRules = { resultMonths: 24, seriesLength: 12 };

/** LOINC codes whose history is a follow-up series (hypertension, diabetes), not just the latest value. */
const SERIES_CODES = ['85354-9', '8480-6', '8462-4', '2339-0', '15074-8', '14749-6', '2345-7', '41653-7'];

/** What the summary shows, each list already filtered by the IPS rules in SQL. */
export interface SelectedEntries {
  problems: Json[];
  medications: Json[];
  allergies: Json[];
  immunizations: Json[];
  results: Json[];
  vitalSigns: Json[];
  procedures: Json[];
  encounters: Json[];
  referrals: Json[];
  careTeam: Json[];
}

type Section = keyof SelectedEntries;

/**
 * Every type a section can take: what a summary is made of. A change to any other resource of the
 * person (an AuditEvent of the summary itself, a Provenance) cannot change the summary.
 */
export const SUMMARY_TYPES = [
  'Condition',
  'AllergyIntolerance',
  'MedicationRequest',
  'MedicationStatement',
  'Immunization',
  'DiagnosticReport',
  'Observation',
  'Procedure',
  'Encounter',
  'ServiceRequest',
  'EpisodeOfCare',
  'CareTeam',
];

/** Types whose rules read a token (clinical or verification status, category, episode type). */
const TOKEN_TYPES = ['Condition', 'AllergyIntolerance', 'Observation', 'ServiceRequest', 'EpisodeOfCare'];

const list = (values: string[]) => values.map((v) => `'${v}'`).join(', ');
const NOT_ERROR = `coalesce(f.status, '') NOT IN ('entered-in-error', 'cancelled')`;
const RECENT = `f.at >= $2`;

/**
 * The IPS rules, one WHEN per section (a resource lands in one section at most): active or
 * recurring problems and allergies that are not refuted, current medicines, given vaccines,
 * recent results (reports and observations that are neither vital signs nor social history),
 * every vital sign (thinned to series below), recent procedures and encounters, referrals in
 * flight and the family-doctor contract with its care team.
 */
const SECTION_OF = `CASE
    WHEN f.resource_type = 'Condition' AND (NOT f.has_clinical OR f.clinical_active) AND NOT f.refuted
      THEN 'problems'
    WHEN f.resource_type = 'AllergyIntolerance' AND (NOT f.has_clinical OR f.clinical_active) AND NOT f.refuted
      THEN 'allergies'
    WHEN (f.resource_type = 'MedicationRequest' AND f.status IN ('active', 'on-hold'))
      OR (f.resource_type = 'MedicationStatement' AND f.status IN ('active', 'intended', 'on-hold'))
      THEN 'medications'
    WHEN f.resource_type = 'Immunization' AND coalesce(f.status, 'completed') = 'completed'
      THEN 'immunizations'
    WHEN f.resource_type = 'DiagnosticReport' AND ${NOT_ERROR} AND ${RECENT}
      THEN 'results'
    WHEN f.resource_type = 'Observation' AND ${NOT_ERROR} AND f.vital
      THEN 'vitalSigns'
    WHEN f.resource_type = 'Observation' AND ${NOT_ERROR} AND NOT f.social AND ${RECENT}
      THEN 'results'
    WHEN f.resource_type = 'Procedure' AND ${NOT_ERROR} AND ${RECENT} AND f.status IN ('completed', 'in-progress')
      THEN 'procedures'
    WHEN f.resource_type = 'Encounter' AND ${NOT_ERROR} AND ${RECENT}
      THEN 'encounters'
    WHEN f.resource_type = 'ServiceRequest' AND f.status IN ('draft', 'active', 'on-hold') AND f.referral
      THEN 'referrals'
    WHEN (f.resource_type = 'EpisodeOfCare' AND f.status IN ('planned', 'active', 'waitlist') AND f.contract)
      OR (f.resource_type = 'CareTeam' AND coalesce(f.status, 'active') IN ('proposed', 'active'))
      THEN 'careTeam'
  END`;

/**
 * The search parameter (`sp_date` code) of the clinical date each type is ordered — and, for
 * results, limited — by. Allergies, episodes and care teams are ordered by id alone.
 */
const DATE_PARAM: Record<string, string> = {
  Condition: 'recorded-date',
  MedicationRequest: 'authoredon',
  MedicationStatement: 'authoredon',
  ServiceRequest: 'authored',
  Immunization: 'date',
  DiagnosticReport: 'date',
  Observation: 'date',
  Procedure: 'date',
  Encounter: 'date',
};
const DATE_CODE = `CASE r.resource_type ${Object.entries(DATE_PARAM)
  .map(([type, code]) => `WHEN '${type}' THEN '${code}'`)
  .join(' ')} END`;

/**
 * Within a section: reports before observations among results, the care-team section's contract
 * before its teams, vital signs grouped by code; then newest first (vital signs with an undated
 * reading first, as their series window orders them), then by id for a stable order.
 */
const ORDER = `section,
    CASE section
      WHEN 'results' THEN (resource_type <> 'DiagnosticReport')::int::text
      WHEN 'careTeam' THEN (resource_type <> 'EpisodeOfCare')::int::text
      WHEN 'vitalSigns' THEN code
      ELSE ''
    END,
    CASE WHEN section = 'vitalSigns' THEN at IS NOT NULL ELSE at IS NULL END,
    at DESC, id`;

/**
 * The person's rows are found once (`compartments`, the GIN index without audit events, 009), and only for those ids are
 * the tokens and dates the rules need looked up (the `(resource_type, resource_id)` indexes, one
 * probe per row): the cost follows the person's record, not the store. Each row is then placed in
 * its section by the IPS rules, vital signs are thinned to the latest per code (a series for
 * blood pressure and glucose), and one ordered answer comes back.
 */
const SELECTION_SQL = `
WITH facts AS (
  SELECT r.resource_type, r.id, r.content, r.content->>'status' AS status, dt.at,
         coalesce(tk.has_clinical, false) AS has_clinical,
         coalesce(tk.clinical_active, false) AS clinical_active,
         coalesce(tk.refuted, false) AS refuted,
         coalesce(tk.vital, false) AS vital,
         coalesce(tk.social, false) AS social,
         coalesce(tk.referral, false) AS referral,
         coalesce(tk.contract, false) AS contract
    FROM resource r
    LEFT JOIN LATERAL (
      SELECT max(d.lo) AS at FROM sp_date d
       WHERE r.resource_type IN (${list(Object.keys(DATE_PARAM))})
         AND d.resource_type = r.resource_type AND d.resource_id = r.id AND d.code = ${DATE_CODE}
    ) dt ON true
    LEFT JOIN LATERAL (
      SELECT bool_or(t.code = 'clinical-status') AS has_clinical,
             bool_or(t.code = 'clinical-status' AND t.value IN ('active', 'recurrence', 'relapse')) AS clinical_active,
             bool_or(t.code = 'verification-status' AND t.value IN ('entered-in-error', 'refuted')) AS refuted,
             bool_or(t.code = 'category' AND t.value = 'vital-signs') AS vital,
             bool_or(t.code = 'category' AND t.value = 'social-history') AS social,
             bool_or(t.code = 'category' AND t.value = '3457005') AS referral,
             bool_or(t.code = 'type' AND t.value = 'family-doctor-contract') AS contract
        FROM sp_token t
       WHERE r.resource_type IN (${list(TOKEN_TYPES)})
         AND t.resource_type = r.resource_type AND t.resource_id = r.id
         AND t.code IN ('clinical-status', 'verification-status', 'category', 'type')
    ) tk ON true
   WHERE r.compartments && $1::text[] AND r.resource_type <> 'AuditEvent' AND r.resource_type = ANY($5::text[])
     AND NOT r.deleted
),
placed AS MATERIALIZED (
  SELECT f.resource_type, f.id, f.content, f.at, ${SECTION_OF} AS section FROM facts f
),
ranked AS (
  SELECT p.*, p.content->'code'->'coding'->0->>'code' AS code,
         row_number() OVER (
           PARTITION BY p.section, p.content->'code'->'coding'->0->>'system', p.content->'code'->'coding'->0->>'code'
           ORDER BY p.at DESC, p.id) AS n
    FROM placed p
   WHERE p.section IS NOT NULL
)
SELECT section, content FROM ranked
 WHERE section <> 'vitalSigns' OR n = 1 OR (code = ANY($3::text[]) AND n <= $4)
 ORDER BY ${ORDER}`;

/**
 * Reads only what the summary shows, by the IPS rules, in one statement over the person's own
 * rows: active or recurring problems, current medicines, allergies, given vaccines, recent
 * results, the latest vital sign per code (a series for blood pressure and glucose), recent
 * procedures and encounters, referrals in flight and the family-doctor contract. The rules run
 * in SQL; rows no section takes never leave the database.
 */
export async function selectEntries(
  db: Queryable,
  patientIds: string[],
  asOf: Date,
  rules: SelectionRules = DEFAULT_RULES,
): Promise<SelectedEntries> {
  const since = new Date(asOf);
  since.setUTCMonth(since.getUTCMonth() - rules.resultMonths);
  const out: SelectedEntries = {
    problems: [],
    medications: [],
    allergies: [],
    immunizations: [],
    results: [],
    vitalSigns: [],
    procedures: [],
    encounters: [],
    referrals: [],
    careTeam: [],
  };
  const { rows } = await db.query<{ section: Section; content: Json }>(SELECTION_SQL, [
    patientIds,
    since.toISOString(),
    SERIES_CODES,
    rules.seriesLength,
    SUMMARY_TYPES,
  ]);
  for (const row of rows) out[row.section].push(row.content);
  return out;
}
