import type { Queryable } from '../../db/database.ts';

/**
 * SQL the review workflow needs beside `store/identity-store.ts`: reading and closing review
 * items, setting a record's person, the manual decisions, and lifting rejections a person
 * overrides. Every function takes the client it runs on.
 */

export type ReviewState = 'open' | 'accepted' | 'rejected';

export interface ReviewRow {
  id: string;
  leftRef: string;
  rightRef: string;
  score: number;
  grade: string;
  rule: string;
  fields: Record<string, unknown>;
  state: ReviewState;
  createdAt: string;
  /** created_at to the microsecond, as PostgreSQL prints it (for cursors). */
  createdExact: string;
}

// created_at also as text: a JS Date keeps milliseconds only, and a page cursor must hold the
// exact microseconds PostgreSQL compares.
const REVIEW_COLUMNS =
  'id, left_ref, right_ref, score, grade, rule, fields, state, created_at, created_at::text AS created_exact';

function toReview(r: Record<string, unknown>): ReviewRow {
  return {
    id: r['id'] as string,
    leftRef: r['left_ref'] as string,
    rightRef: r['right_ref'] as string,
    // numeric comes back as text from pg: the score is a small decimal, a JS number holds it.
    score: Number(r['score']),
    grade: r['grade'] as string,
    rule: r['rule'] as string,
    fields: r['fields'] as Record<string, unknown>,
    state: r['state'] as ReviewState,
    createdAt: (r['created_at'] as Date).toISOString(),
    createdExact: r['created_exact'] as string,
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** One review item; `forUpdate` locks its row for the rest of the transaction. */
export async function getReview(q: Queryable, id: string, forUpdate = false): Promise<ReviewRow | undefined> {
  // Not a uuid: no such item (and PostgreSQL would refuse the cast).
  if (!UUID.test(id)) return undefined;
  const { rows } = await q.query(
    `SELECT ${REVIEW_COLUMNS} FROM identity_review WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
    [id],
  );
  return rows[0] ? toReview(rows[0]) : undefined;
}

/** Open items oldest first, after the cursor position (created_at, id). */
export async function openReviews(
  q: Queryable,
  count: number,
  after?: { createdAt: string; id: string },
): Promise<ReviewRow[]> {
  const { rows } = after
    ? await q.query(
        `SELECT ${REVIEW_COLUMNS} FROM identity_review
          WHERE state = 'open' AND (created_at, id) > ($2::timestamptz, $3::uuid)
          ORDER BY created_at, id LIMIT $1`,
        [count, after.createdAt, after.id],
      )
    : await q.query(
        `SELECT ${REVIEW_COLUMNS} FROM identity_review WHERE state = 'open'
          ORDER BY created_at, id LIMIT $1`,
        [count],
      );
  return rows.map(toReview);
}

export async function closeReview(
  q: Queryable,
  id: string,
  state: Exclude<ReviewState, 'open'>,
  decidedBy: string,
): Promise<void> {
  await q.query(
    `UPDATE identity_review SET state = $2, decided_at = clock_timestamp(), decided_by = $3 WHERE id = $1`,
    [id, state, decidedBy],
  );
}

/** Moves a record to a person (or leaves it there) with the state a person's decision gives it. */
export async function setRecordPerson(
  q: Queryable,
  ref: string,
  personId: string,
  state: 'linked' | 'manual',
): Promise<void> {
  await q.query(
    `UPDATE identity_record SET person_id = $2, state = $3, updated_at = clock_timestamp()
      WHERE patient_ref = $1`,
    [ref, personId, state],
  );
}

/** Whether an id is a person's (a golden record) rather than a source record's. */
export async function isPerson(q: Queryable, id: string): Promise<boolean> {
  const { rows } = await q.query(`SELECT 1 FROM identity_person WHERE id = $1`, [id]);
  return rows.length > 0;
}

/** A reviewer's or an administrator's decision, in the same log as the matcher's. */
export async function saveManualDecision(
  q: Queryable,
  d: {
    id: string;
    patientRef: string;
    candidateRef?: string;
    personId: string;
    outcome: 'accept' | 'reject' | 'manual-link' | 'unlink' | 'person-merge';
    decidedBy: string;
    review?: string;
  },
): Promise<void> {
  await q.query(
    `INSERT INTO identity_decision (id, patient_ref, candidate_ref, person_id, outcome, grade, score, rule,
       fields, rules_version) VALUES ($1, $2, $3, $4, $5, $6, 0, 'manual', $7, 'manual')`,
    [
      d.id,
      d.patientRef,
      d.candidateRef ?? null,
      d.personId,
      d.outcome,
      d.outcome === 'reject' || d.outcome === 'unlink' ? 'certainly-not' : 'certain',
      JSON.stringify({ decidedBy: d.decidedBy, ...(d.review ? { review: d.review } : {}) }),
    ],
  );
}

/** A manual link overrides earlier rejections between the record and its new companions. */
export async function forgetRejections(q: Queryable, ref: string, others: readonly string[]): Promise<void> {
  if (others.length === 0) return;
  await q.query(
    `DELETE FROM identity_rejection
      WHERE (a_ref = $1 AND b_ref = ANY($2::text[])) OR (b_ref = $1 AND a_ref = ANY($2::text[]))`,
    [ref, others],
  );
}

/** Records that a person was merged into another (its golden record then says `replaced-by`). */
export async function markPersonMerged(q: Queryable, personId: string, into: string): Promise<void> {
  await q.query(`UPDATE identity_person SET merged_into = $2 WHERE id = $1`, [personId, into]);
}
