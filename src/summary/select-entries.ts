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

/** Newest first by the resource's indexed clinical date (`sp_date`), then by id for a stable order. */
const DATED = (dateCode: string) => `
  LEFT JOIN LATERAL (SELECT max(d.lo) AS at FROM sp_date d
    WHERE d.resource_type = r.resource_type AND d.resource_id = r.id AND d.code = '${dateCode}') dt ON true`;

const BASE = `FROM resource r`;
const MINE = `NOT r.deleted AND r.compartments && $1::text[]`;
const NOT_ERROR = `coalesce(r.content->>'status', '') NOT IN ('entered-in-error', 'cancelled')`;
/** The resource has a token row for the search parameter with one of the codes (the index answers, not the JSON). */
const TOKEN = (param: string, codes: string[]) => `EXISTS (SELECT 1 FROM sp_token t
  WHERE t.resource_type = r.resource_type AND t.resource_id = r.id AND t.code = '${param}'
    AND t.value IN (${codes.map((c) => `'${c}'`).join(', ')}))`;
const HAS_TOKEN = (param: string) => `EXISTS (SELECT 1 FROM sp_token t
  WHERE t.resource_type = r.resource_type AND t.resource_id = r.id AND t.code = '${param}')`;
const ACTIVE_CLINICAL = `(NOT ${HAS_TOKEN('clinical-status')} OR ${TOKEN('clinical-status', ['active', 'recurrence', 'relapse'])})`;
const NOT_REFUTED = `NOT ${TOKEN('verification-status', ['entered-in-error', 'refuted'])}`;
const VITAL = TOKEN('category', ['vital-signs']);
const SOCIAL = TOKEN('category', ['social-history']);

/**
 * Reads only what the summary shows, by the IPS rules, with one statement per section: active or
 * recurring problems, current medicines, allergies, given vaccines, recent results, the latest
 * vital sign per code (a series for blood pressure and glucose), recent procedures and encounters,
 * referrals in flight and the family-doctor contract. The whole record is never loaded.
 */
export async function selectEntries(
  db: Queryable,
  patientIds: string[],
  asOf: Date,
  rules: SelectionRules = DEFAULT_RULES,
): Promise<SelectedEntries> {
  const since = new Date(asOf);
  since.setUTCMonth(since.getUTCMonth() - rules.resultMonths);
  const rows = async (sql: string, params: unknown[] = []): Promise<Json[]> =>
    (await db.query<{ content: Json }>(sql, [patientIds, ...params])).rows.map((x) => x.content);
  const recent = (type: string, dateCode: string, extra: string) =>
    rows(
      `SELECT r.content ${BASE} ${DATED(dateCode)}
       WHERE r.resource_type = '${type}' AND ${MINE} AND ${NOT_ERROR} AND dt.at >= $2 ${extra}
       ORDER BY dt.at DESC, r.id`,
      [since.toISOString()],
    );

  const [
    problems,
    medications,
    allergies,
    immunizations,
    reports,
    observations,
    vitalSigns,
    procedures,
    encounters,
    referrals,
    careTeam,
  ] = await Promise.all([
    rows(
      `SELECT r.content ${BASE} ${DATED('recorded-date')}
       WHERE r.resource_type = 'Condition' AND ${MINE} AND ${ACTIVE_CLINICAL} AND ${NOT_REFUTED}
       ORDER BY dt.at DESC NULLS LAST, r.id`,
    ),
    rows(
      `SELECT r.content ${BASE} ${DATED('authoredon')}
       WHERE ((r.resource_type = 'MedicationRequest' AND r.content->>'status' IN ('active', 'on-hold'))
          OR (r.resource_type = 'MedicationStatement' AND r.content->>'status' IN ('active', 'intended', 'on-hold')))
         AND ${MINE}
       ORDER BY dt.at DESC NULLS LAST, r.id`,
    ),
    rows(
      `SELECT r.content ${BASE}
       WHERE r.resource_type = 'AllergyIntolerance' AND ${MINE} AND ${ACTIVE_CLINICAL} AND ${NOT_REFUTED}
       ORDER BY r.id`,
    ),
    rows(
      `SELECT r.content ${BASE} ${DATED('date')}
       WHERE r.resource_type = 'Immunization' AND ${MINE} AND coalesce(r.content->>'status', 'completed') = 'completed'
       ORDER BY dt.at DESC NULLS LAST, r.id`,
    ),
    recent('DiagnosticReport', 'date', ''),
    recent('Observation', 'date', `AND NOT ${VITAL} AND NOT ${SOCIAL}`),
    rows(
      `SELECT content FROM (
         SELECT r.content, r.id, dt.at, row_number() OVER (
           PARTITION BY r.content->'code'->'coding'->0->>'system', r.content->'code'->'coding'->0->>'code'
           ORDER BY dt.at DESC, r.id) AS n,
           r.content->'code'->'coding'->0->>'code' AS code
         ${BASE} ${DATED('date')}
         WHERE r.resource_type = 'Observation' AND ${MINE} AND ${NOT_ERROR} AND ${VITAL}) v
       WHERE v.n = 1 OR (v.code = ANY($2::text[]) AND v.n <= $3)
       ORDER BY v.code, v.at DESC, v.id`,
      [SERIES_CODES, rules.seriesLength],
    ),
    recent('Procedure', 'date', `AND r.content->>'status' IN ('completed', 'in-progress')`),
    recent('Encounter', 'date', ''),
    rows(
      `SELECT r.content ${BASE} ${DATED('authored')}
       WHERE r.resource_type = 'ServiceRequest' AND ${MINE}
         AND r.content->>'status' IN ('draft', 'active', 'on-hold')
         AND ${TOKEN('category', ['3457005'])}
       ORDER BY dt.at DESC NULLS LAST, r.id`,
    ),
    rows(
      `SELECT r.content ${BASE}
       WHERE ((r.resource_type = 'EpisodeOfCare' AND r.content->>'status' IN ('planned', 'active', 'waitlist')
               AND ${TOKEN('type', ['family-doctor-contract'])})
          OR (r.resource_type = 'CareTeam' AND coalesce(r.content->>'status', 'active') IN ('proposed', 'active')))
         AND ${MINE}
       ORDER BY r.resource_type DESC, r.id`,
    ),
  ]);
  return {
    problems,
    medications,
    allergies,
    immunizations,
    results: [...reports, ...observations],
    vitalSigns,
    procedures,
    encounters,
    referrals,
    careTeam,
  };
}
