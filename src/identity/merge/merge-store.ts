import type { Queryable } from '../../db/database.ts';
import type { RecordState } from '../store/identity-store.ts';
import type { ReferenceChange } from './repoint.ts';

/** SQL over `identity_merge` (migration 007). Every function takes the client it runs on. */

export type MergeOrigin = 'operation' | 'adt-a40';

export interface PatientVersions {
  /** The last version without the merge's link; absent when the merge created the record. */
  before?: number;
  after: number;
}

export interface IdentityBefore {
  personId: string;
  state: RecordState;
  active: boolean;
}

export interface RepointedResource {
  type: string;
  id: string;
  /** The version the merge wrote. */
  version: number;
  changes: ReferenceChange[];
}

export interface MergeRow {
  id: string;
  sourceRef: string;
  targetRef: string;
  institution: string;
  origin: MergeOrigin;
  state: 'merged' | 'unmerged';
  patients: { source: PatientVersions; target: PatientVersions };
  identityBefore: IdentityBefore | null;
  repointed: RepointedResource[];
  mergedBy: string;
}

const COLUMNS = `id, source_ref, target_ref, institution, origin, state, patients, identity_before, repointed,
  merged_by`;

function toRow(r: Record<string, unknown>): MergeRow {
  return {
    id: r['id'] as string,
    sourceRef: r['source_ref'] as string,
    targetRef: r['target_ref'] as string,
    institution: r['institution'] as string,
    origin: r['origin'] as MergeOrigin,
    state: r['state'] as MergeRow['state'],
    patients: r['patients'] as MergeRow['patients'],
    identityBefore: r['identity_before'] as IdentityBefore | null,
    repointed: r['repointed'] as RepointedResource[],
    mergedBy: r['merged_by'] as string,
  };
}

/** The merge that took `sourceRef` away and is not undone, row-locked for the transaction. */
export async function openMergeOf(q: Queryable, sourceRef: string): Promise<MergeRow | undefined> {
  const { rows } = await q.query(
    `SELECT ${COLUMNS} FROM identity_merge WHERE source_ref = $1 AND state = 'merged' FOR UPDATE`,
    [sourceRef],
  );
  return rows[0] ? toRow(rows[0]) : undefined;
}

export async function saveMerge(q: Queryable, m: MergeRow): Promise<void> {
  await q.query(
    `INSERT INTO identity_merge (id, source_ref, target_ref, institution, origin, state, patients,
       identity_before, repointed, merged_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [
      m.id,
      m.sourceRef,
      m.targetRef,
      m.institution,
      m.origin,
      m.state,
      JSON.stringify(m.patients),
      m.identityBefore ? JSON.stringify(m.identityBefore) : null,
      JSON.stringify(m.repointed),
      m.mergedBy,
    ],
  );
}

export async function closeMerge(q: Queryable, id: string, by: string): Promise<void> {
  await q.query(
    `UPDATE identity_merge SET state = 'unmerged', unmerged_by = $2, unmerged_at = clock_timestamp()
      WHERE id = $1`,
    [id, by],
  );
}

/**
 * The resources whose reference index names `Patient/{id}` — except Patients (their links are the
 * merge's own business and identity's), and the audit trail and Provenance, which record what
 * happened and are never rewritten.
 */
export async function resourcesReferencing(
  q: Queryable,
  patientId: string,
): Promise<{ type: string; id: string }[]> {
  const { rows } = await q.query<{ resource_type: string; resource_id: string }>(
    `SELECT DISTINCT resource_type, resource_id FROM sp_reference
      WHERE target_type = 'Patient' AND target_id = $1
        AND resource_type NOT IN ('Patient', 'AuditEvent', 'Provenance')
      ORDER BY resource_type, resource_id`,
    [patientId],
  );
  return rows.map((r) => ({ type: r.resource_type, id: r.resource_id }));
}

/** A Patient's versions, newest first (deletions left out), for finding the one before a merge. */
export async function patientVersions(
  q: Queryable,
  id: string,
  limit = 50,
): Promise<{ versionId: number; json: string }[]> {
  const { rows } = await q.query<{ version_id: number; json: string }>(
    `SELECT version_id, content::text AS json FROM resource_history
      WHERE resource_type = 'Patient' AND id = $1 AND NOT deleted
      ORDER BY version_id DESC LIMIT $2`,
    [id, limit],
  );
  return rows.map((r) => ({ versionId: r.version_id, json: r.json }));
}

/** Sets a record's identity row as given (merge: inactive; unmerge: as it was). */
export async function setRecordIdentity(q: Queryable, ref: string, to: IdentityBefore): Promise<void> {
  await q.query(
    `UPDATE identity_record SET person_id = $2, state = $3, active = $4, updated_at = clock_timestamp()
      WHERE patient_ref = $1`,
    [ref, to.personId, to.state, to.active],
  );
}
