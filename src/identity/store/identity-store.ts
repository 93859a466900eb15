import type { Queryable } from '../../db/database.ts';
import { lockNamesInOrder } from '../../db/advisory-locks.ts';
import type { Demographics } from '../golden/golden-patient.ts';
import type { PairDecision } from '../match/decide.ts';
import type { MatchRecord } from '../match/record.ts';

/** SQL over the identity tables (migration 005). Every function takes the client it runs on. */

export type RecordState = 'linked' | 'provisional' | 'manual';

export interface IdentityRecordRow {
  patientRef: string;
  institution: string | null;
  tier: string | null;
  personId: string;
  state: RecordState;
  match: MatchRecord;
  matchHash: string;
  demographics: Demographics;
  sourceUpdated: string;
  active: boolean;
}

const COLUMNS = `patient_ref, institution, tier, person_id, state, match, match_hash, demographics,
  source_updated, active`;

function toRow(r: Record<string, unknown>): IdentityRecordRow {
  return {
    patientRef: r['patient_ref'] as string,
    institution: r['institution'] as string | null,
    tier: r['tier'] as string | null,
    personId: r['person_id'] as string,
    state: r['state'] as RecordState,
    match: r['match'] as MatchRecord,
    matchHash: r['match_hash'] as string,
    demographics: r['demographics'] as Demographics,
    sourceUpdated: (r['source_updated'] as Date).toISOString(),
    active: r['active'] as boolean,
  };
}

/**
 * Transaction-scoped advisory locks on names (blocking keys, records, persons), taken in sorted
 * order so that two workers matching related records serialise instead of both creating a
 * person — and never deadlock on each other.
 */
export async function lockNames(q: Queryable, names: readonly string[]): Promise<void> {
  await lockNamesInOrder(q, 7541, names);
}

export async function getRecord(q: Queryable, ref: string): Promise<IdentityRecordRow | undefined> {
  const { rows } = await q.query(`SELECT ${COLUMNS} FROM identity_record WHERE patient_ref = $1`, [ref]);
  return rows[0] ? toRow(rows[0]) : undefined;
}

/** Up to this many blocking keys go one parameter each; more go as one array. */
const MAX_LISTED_KEYS = 16;

/**
 * Active records sharing a blocking key with the record (`$1`, itself excluded); the keys are
 * bound from `$2` on. Each key is its own parameter: over an array (`key = ANY($2)`) PostgreSQL
 * assumes ten elements, prices the generic plan above planning anew, and so planned the statement
 * on every run (~0.5 ms at 20,000 records, more than running it). Listed, it keeps one plan per
 * number of keys; the plan is the same index look-up either way.
 */
function candidatesWhere(keys: readonly string[]): { where: string; params: unknown[] } {
  const listed = keys.length <= MAX_LISTED_KEYS;
  const keyCondition =
    keys.length === 0
      ? 'false'
      : listed
        ? `key IN (${keys.map((_, i) => `$${i + 2}`).join(', ')})`
        : 'key = ANY($2::text[])';
  return {
    where: `patient_ref IN (SELECT patient_ref FROM identity_block WHERE ${keyCondition})
        AND patient_ref <> $1 AND active`,
    params: keys.length === 0 ? [] : listed ? [...keys] : [keys],
  };
}

/**
 * `getRecord` and `candidatesByKeys` in one statement: the record as identity holds it (if at
 * all) and the active records sharing a blocking key with it.
 */
export async function recordAndCandidates(
  q: Queryable,
  ref: string,
  keys: readonly string[],
): Promise<{ existing: IdentityRecordRow | undefined; candidates: IdentityRecordRow[] }> {
  const { where, params } = candidatesWhere(keys);
  // Two branches, not one OR: each keeps its index (the primary key, the blocking-key index).
  const { rows } = await q.query(
    `SELECT * FROM (
       SELECT ${COLUMNS}, true AS is_self FROM identity_record WHERE patient_ref = $1
       UNION ALL
       SELECT ${COLUMNS}, false FROM identity_record WHERE ${where}) u
      ORDER BY is_self DESC, patient_ref`,
    [ref, ...params],
  );
  const self = rows.find((r) => r.is_self === true);
  return {
    existing: self ? toRow(self) : undefined,
    candidates: rows.filter((r) => r.is_self !== true).map(toRow),
  };
}

/** Active records sharing a blocking key with the record (itself excluded). */
export async function candidatesByKeys(
  q: Queryable,
  keys: readonly string[],
  excludeRef: string,
): Promise<IdentityRecordRow[]> {
  if (keys.length === 0) return [];
  const { where, params } = candidatesWhere(keys);
  const { rows } = await q.query(
    `SELECT ${COLUMNS} FROM identity_record WHERE ${where} ORDER BY patient_ref`,
    [excludeRef, ...params],
  );
  return rows.map(toRow);
}

export async function recordsOfPerson(q: Queryable, personId: string): Promise<IdentityRecordRow[]> {
  const { rows } = await q.query(
    `SELECT ${COLUMNS} FROM identity_record WHERE person_id = $1 AND active ORDER BY patient_ref`,
    [personId],
  );
  return rows.map(toRow);
}

const pair = (a: string, b: string) => (a < b ? [a, b] : [b, a]);

/** The candidates a reviewer (or a manual unlink) kept apart from `ref`. */
export async function rejectedWith(
  q: Queryable,
  ref: string,
  others: readonly string[],
): Promise<Set<string>> {
  if (others.length === 0) return new Set();
  const { rows } = await q.query<{ other: string }>(
    `SELECT CASE WHEN a_ref = $1 THEN b_ref ELSE a_ref END AS other FROM identity_rejection
      WHERE (a_ref = $1 AND b_ref = ANY($2::text[])) OR (b_ref = $1 AND a_ref = ANY($2::text[]))`,
    [ref, others],
  );
  return new Set(rows.map((r) => r.other));
}

export async function rememberRejection(q: Queryable, a: string, b: string): Promise<void> {
  await q.query(
    `INSERT INTO identity_rejection (a_ref, b_ref) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
    pair(a, b),
  );
}

/** A record merged away leaves its person (inactive rows are never matched nor in a golden record). */
export async function setRecordActive(q: Queryable, ref: string, active: boolean): Promise<void> {
  await q.query(
    `UPDATE identity_record SET active = $2, updated_at = clock_timestamp() WHERE patient_ref = $1`,
    [ref, active],
  );
}

export async function ensurePerson(q: Queryable, personId: string): Promise<void> {
  await q.query(`INSERT INTO identity_person (id) VALUES ($1) ON CONFLICT DO NOTHING`, [personId]);
}

/**
 * What a person's active records are now, as one text: each record and the time it was last
 * saved (every change to a record saves it). Equal fingerprints mean the golden record computed
 * from them is still the one to keep; null for a person without active records.
 */
const RECORDS_FINGERPRINT = `(SELECT string_agg(patient_ref || '@' || (extract(epoch FROM updated_at) * 1000000)::bigint, ','
     ORDER BY patient_ref) FROM identity_record WHERE person_id = $1 AND active)`;

/** The golden hash last written for the person, and the fingerprint of its records now. */
export async function goldenState(
  q: Queryable,
  personId: string,
): Promise<{ stored: string | null; fingerprint: string | null }> {
  const { rows } = await q.query(
    `SELECT (SELECT golden_hash FROM identity_person WHERE id = $1) AS stored, ${RECORDS_FINGERPRINT} AS fingerprint`,
    [personId],
  );
  return { stored: rows[0]?.stored ?? null, fingerprint: rows[0]?.fingerprint ?? null };
}

/**
 * A person's active records with its golden state, in one statement while it has records (the
 * linker reads both for every Patient it links).
 */
export async function recordsWithGoldenState(
  q: Queryable,
  personId: string,
): Promise<{ records: IdentityRecordRow[]; stored: string | null; fingerprint: string | null }> {
  const { rows } = await q.query(
    `SELECT ${COLUMNS}, (SELECT golden_hash FROM identity_person WHERE id = $1) AS golden_stored,
            ${RECORDS_FINGERPRINT} AS golden_fingerprint
       FROM identity_record WHERE person_id = $1 AND active ORDER BY patient_ref`,
    [personId],
  );
  if (rows.length === 0) return { records: [], ...(await goldenState(q, personId)) };
  return {
    records: rows.map(toRow),
    stored: rows[0].golden_stored ?? null,
    fingerprint: rows[0].golden_fingerprint ?? null,
  };
}

/**
 * Records the golden hash just written, in one statement and no transaction, unless the person's
 * records changed since the golden record was computed (false: the caller writes it again).
 */
export async function setGoldenHashIfRecordsAre(
  q: Queryable,
  personId: string,
  hash: string,
  fingerprint: string,
): Promise<boolean> {
  const { rowCount } = await q.query(
    `UPDATE identity_person SET golden_hash = $2 WHERE id = $1 AND ${RECORDS_FINGERPRINT} = $3`,
    [personId, hash, fingerprint],
  );
  return (rowCount ?? 0) > 0;
}

export async function setGoldenHash(q: Queryable, personId: string, hash: string): Promise<void> {
  await q.query(`UPDATE identity_person SET golden_hash = $2 WHERE id = $1`, [personId, hash]);
}

type DecisionRow = {
  id: string;
  patientRef: string;
  candidateRef?: string;
  personId: string;
  rulesVersion: string;
};
type DecisionOutcome = Pick<PairDecision, 'outcome' | 'grade' | 'score' | 'rule' | 'fields'> & {
  note?: string;
};

const decisionValues = (d: DecisionRow, decision: DecisionOutcome) => [
  d.id,
  d.patientRef,
  d.candidateRef ?? null,
  d.personId,
  decision.outcome,
  decision.grade,
  decision.score,
  decision.rule,
  JSON.stringify({ ...decision.fields, ...(decision.note ? { note: decision.note } : {}) }),
  d.rulesVersion,
];

/**
 * Writes a record's row, its person (when new), its blocking keys and — when given — the decision
 * that placed it, in ONE statement: each statement is a round trip, and the linker runs this for
 * every Patient written. Foreign keys are checked at the end of the statement, when the person and
 * the record both exist.
 */
export async function saveRecord(
  q: Queryable,
  row: IdentityRecordRow,
  keys: readonly string[],
  decided?: { row: DecisionRow; decision: DecisionOutcome },
): Promise<void> {
  await q.query(
    `WITH person AS (
       INSERT INTO identity_person (id) VALUES ($4) ON CONFLICT DO NOTHING
     ), record AS (
       INSERT INTO identity_record (${COLUMNS}, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, clock_timestamp())
       ON CONFLICT (patient_ref) DO UPDATE SET institution = EXCLUDED.institution, tier = EXCLUDED.tier,
         person_id = EXCLUDED.person_id, state = EXCLUDED.state, match = EXCLUDED.match,
         match_hash = EXCLUDED.match_hash, demographics = EXCLUDED.demographics,
         source_updated = EXCLUDED.source_updated, active = EXCLUDED.active, updated_at = clock_timestamp()
     ), gone AS (
       DELETE FROM identity_block WHERE patient_ref = $1 AND NOT (key = ANY($11::text[]))
     )${
       decided
         ? `, decided AS (
       INSERT INTO ${DECISION_INSERT} VALUES ($12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
     )`
         : ''
     }
     INSERT INTO identity_block (key, patient_ref) SELECT k, $1 FROM unnest($11::text[]) AS k ON CONFLICT DO NOTHING`,
    [
      row.patientRef,
      row.institution,
      row.tier,
      row.personId,
      row.state,
      JSON.stringify(row.match),
      row.matchHash,
      JSON.stringify(row.demographics),
      row.sourceUpdated,
      row.active,
      keys,
      ...(decided ? decisionValues(decided.row, decided.decision) : []),
    ],
  );
}

const DECISION_INSERT = `identity_decision (id, patient_ref, candidate_ref, person_id, outcome, grade, score, rule,
       fields, rules_version)`;

export async function saveDecision(q: Queryable, d: DecisionRow, decision: DecisionOutcome): Promise<void> {
  await q.query(
    `INSERT INTO ${DECISION_INSERT} VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    decisionValues(d, decision),
  );
}

export async function openReview(
  q: Queryable,
  r: { id: string; leftRef: string; rightRef: string },
  decision: Pick<PairDecision, 'grade' | 'score' | 'rule' | 'fields'>,
): Promise<void> {
  await q.query(
    `INSERT INTO identity_review (id, left_ref, right_ref, score, grade, rule, fields)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
    [
      r.id,
      r.leftRef,
      r.rightRef,
      decision.score,
      decision.grade,
      decision.rule,
      JSON.stringify(decision.fields),
    ],
  );
}

/** The registry tier of an institution (the survivorship rules trust tiers differently). */
export async function institutionTier(q: Queryable, institution: string): Promise<string | undefined> {
  const { rows } = await q.query<{ tier: string | null }>(
    `SELECT entry->>'tier' AS tier FROM institution WHERE id = $1`,
    [institution],
  );
  return rows[0]?.tier ?? undefined;
}

/** The person a merged person's records went to (POST /identity/persons/merge), if any. */
export async function mergedInto(q: Queryable, personId: string): Promise<string | undefined> {
  const { rows } = await q.query<{ merged_into: string | null }>(
    `SELECT merged_into FROM identity_person WHERE id = $1`,
    [personId],
  );
  return rows[0]?.merged_into ?? undefined;
}
