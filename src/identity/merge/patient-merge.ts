import type { Patient, PatientLink } from 'fhir/r4';
import type { Queryable } from '../../db/database.ts';
import { canonicalFhirJson, parseFhirJson } from '../../kernel/fhir-json.ts';
import { uuidv7 } from '../../kernel/ids.ts';
import { badRequest, conflict, fail, forbidden, notFound } from '../../kernel/outcomes.ts';
import { findCurrent, readVersion } from '../../repository/store/read.ts';
import type { FhirRepository } from '../../repository/store/fhir-repository.ts';
import { isGolden, type IdentityLinker } from '../linker.ts';
import { ensurePerson, getRecord, lockNames, type IdentityRecordRow } from '../store/identity-store.ts';
import {
  closeMerge,
  openMergeOf,
  patientVersions,
  resourcesReferencing,
  saveMerge,
  setRecordIdentity,
  type IdentityBefore,
  type MergeOrigin,
  type PatientVersions,
  type RepointedResource,
} from './merge-store.ts';
import { repointReferences, restoreReferences } from './repoint.ts';

export interface MergeRequest {
  /** `Patient/{id}` of the record merged away. */
  source: string;
  /** `Patient/{id}` of the survivor. */
  target: string;
  /** R5 `result-patient`: the survivor's content after the merge (same id). */
  resultPatient?: Patient;
  preview?: boolean;
  /** Who asked (stored with the merge). */
  by: string;
  origin: MergeOrigin;
  /** Only finish a merge the sender declared (the source already `replaced-by` the target). */
  completionOnly?: boolean;
}

export interface MergeReport {
  source: Patient;
  target: Patient;
  institution: string;
  /** `Type/id` of each resource re-pointed to the survivor. */
  repointed: string[];
  /** Other institutions' resources still naming the source: never touched by a record merge. */
  leftAlone: string[];
  /** Persons whose golden records were (or, in a preview, would be) recomputed. */
  persons: string[];
  /** The merge was already recorded: nothing changed. */
  alreadyMerged: boolean;
  preview: boolean;
}

export interface UnmergeReport {
  source: Patient;
  target: Patient;
  restored: string[];
  /** References not put back, with the reason (edited or deleted since the merge). */
  skipped: string[];
  persons: string[];
  preview: boolean;
}

export interface PatientMerger {
  merge(req: MergeRequest): Promise<MergeReport>;
  unmerge(req: { source: string; by: string; preview?: boolean }): Promise<UnmergeReport>;
}

export interface PatientMergerDeps {
  repo: FhirRepository;
  canonicalBase: string;
  linker: Pick<IdentityLinker, 'refreshPerson' | 'pointAt'>;
}

/** Carries a preview's answer out of the transaction it rolls back. */
class PreviewRollback<T> extends Error {
  constructor(readonly report: T) {
    super('preview');
  }
}

interface LockedPatient {
  ref: string;
  id: string;
  versionId: number;
  patient: Patient;
}

/**
 * Merges of two records of one institution (R5 `Patient/$merge` backported, and ADT A40), and
 * their undoing. A merge is one PostgreSQL transaction: both Patients, every re-pointed resource
 * (through the repository, so versions and search indexes follow), the source's identity row and
 * the merge's record in `identity_merge` — so a refused or failed merge changes nothing, and a
 * preview is the same transaction rolled back, answering exactly what a merge would do. Golden
 * records are recomputed after the commit, as the review workflow does.
 */
export function createPatientMerger(deps: PatientMergerDeps): PatientMerger {
  const { repo, canonicalBase, linker } = deps;
  const db = repo.db;

  async function run<T extends { persons: string[] }>(
    preview: boolean | undefined,
    body: (c: Queryable) => Promise<T & { after?: () => Promise<void> }>,
  ): Promise<T> {
    try {
      const done = await db.transaction(async (c) => {
        const report = await body(c);
        if (preview) throw new PreviewRollback(report);
        return report;
      });
      for (const p of done.persons) await linker.refreshPerson(p);
      if (done.after) await done.after();
      const { after: _after, ...report } = done;
      return report as unknown as T;
    } catch (err) {
      if (err instanceof PreviewRollback) {
        const { after: _after, ...report } = err.report as T & { after?: unknown };
        return report as unknown as T;
      }
      throw err;
    }
  }

  const institutionOf = (resource: { meta?: { source?: string } }): string | undefined => {
    const prefix = `${canonicalBase}/institution/`;
    const source = resource.meta?.source;
    if (!source?.startsWith(prefix)) return undefined;
    return source.slice(prefix.length).split('#')[0] || undefined;
  };

  const local = (reference: string | undefined) => {
    const absolute = `${repo.baseUrl.replace(/\/$/, '')}/`;
    return reference?.startsWith(absolute) ? reference.slice(absolute.length) : reference;
  };
  const links = (p: Patient, type: PatientLink['type'], ref?: string) =>
    (p.link ?? []).filter((l) => l.type === type && (ref === undefined || local(l.other.reference) === ref));

  async function readLocked(c: Queryable, ref: string, what: string): Promise<LockedPatient> {
    const id = ref.slice('Patient/'.length);
    const found = await findCurrent(c, 'Patient', id, true);
    if (!found || found.deleted || !found.json) throw notFound(`The ${what} ${ref} is not known`);
    return { ref, id, versionId: found.versionId, patient: parseFhirJson(found.json) as Patient };
  }

  /** Both Patients row-locked in id order (two merges of the same pair never deadlock). */
  async function readPair(c: Queryable, source: string, target: string) {
    const [first, second] = [source, target].sort();
    const a = await readLocked(c, first!, first === source ? 'source' : 'target');
    const b = await readLocked(c, second!, second === source ? 'source' : 'target');
    return first === source ? { src: a, tgt: b } : { src: b, tgt: a };
  }

  /** The last version without the merge's link: what the record was before the merge. */
  async function versionBefore(c: Queryable, id: string, type: PatientLink['type'], other: string) {
    for (const v of await patientVersions(c, id)) {
      if (links(parseFhirJson(v.json) as Patient, type, other).length === 0) return v.versionId;
    }
    return undefined;
  }

  const sameContent = (a: Patient, b: Patient) => {
    const { meta: _a, ...restA } = a;
    const { meta: _b, ...restB } = b;
    return canonicalFhirJson(restA) === canonicalFhirJson(restB);
  };

  /** Writes a Patient when its content changed; answers the stored Patient and its version. */
  async function writePatient(c: Queryable, current: LockedPatient, next: Patient) {
    if (sameContent(current.patient, next)) return { patient: current.patient, versionId: current.versionId };
    const written = await repo.update('Patient', current.id, next as Record<string, any>, {
      tx: c,
      ifMatch: current.versionId,
    });
    return { patient: parseFhirJson(written.stored.json!) as Patient, versionId: written.stored.versionId };
  }

  const withLinks = (p: Patient, link: PatientLink[]): Patient => {
    const { link: _old, ...rest } = p;
    return link.length > 0 ? { ...rest, link } : rest;
  };

  async function lockIdentity(c: Queryable, refs: string[], extraPersons: string[] = []) {
    await lockNames(
      c,
      refs.map((r) => `record:${r}`),
    );
    const rows = new Map<string, IdentityRecordRow>();
    for (const ref of refs) {
      const row = await getRecord(c, ref);
      if (row) rows.set(ref, row);
    }
    await lockNames(c, [
      ...[...rows.values()].map((r) => `person:${r.personId}`),
      ...extraPersons.map((p) => `person:${p}`),
    ]);
    return rows;
  }

  function refuseGolden(p: LockedPatient, role: string) {
    if (isGolden(p.patient, canonicalBase)) {
      throw badRequest(
        `The ${role} ${p.ref} is a golden record (a regional person): $merge merges two records of one ` +
          'institution; two persons are merged by POST /identity/persons/merge (links only)',
        `${role}-patient`,
      );
    }
  }

  async function merge(req: MergeRequest): Promise<MergeReport> {
    if (req.source === req.target) {
      throw badRequest(`${req.source} cannot be merged into itself`, 'target-patient');
    }
    if (req.resultPatient) {
      const r = req.resultPatient;
      if (r.resourceType !== 'Patient' || `Patient/${r.id}` !== req.target) {
        throw badRequest('result-patient must be the target Patient (the same id)', 'result-patient');
      }
    }
    return run<MergeReport>(req.preview, async (c) => {
      const rows = await lockIdentity(c, [req.source, req.target]);
      const { src, tgt } = await readPair(c, req.source, req.target);
      refuseGolden(src, 'source');
      refuseGolden(tgt, 'target');
      const srcRow = rows.get(req.source);
      const institution = srcRow?.institution ?? institutionOf(src.patient);
      const targetInstitution = rows.get(req.target)?.institution ?? institutionOf(tgt.patient);
      if (!institution || !targetInstitution) {
        throw fail(422, {
          code: 'business-rule',
          diagnostics: `The institution of ${institution ? req.target : req.source} is not known: a merge is only made between two records of one institution`,
        });
      }
      if (institution !== targetInstitution) {
        throw fail(422, {
          code: 'business-rule',
          diagnostics:
            `${req.source} is a record of ${institution} and ${req.target} of ${targetInstitution}: ` +
            '$merge merges two records of one institution. Records of different institutions are one ' +
            'person through identity links (POST /identity/links), which change links only, never ' +
            "another institution's resources",
        });
      }
      if (tgt.patient.active === false || links(tgt.patient, 'replaced-by').length > 0) {
        throw conflict(
          `The target ${req.target} is inactive (merged into another record): merge into its survivor`,
        );
      }
      const open = await openMergeOf(c, req.source);
      if (open) {
        if (open.targetRef !== req.target) {
          throw conflict(`${req.source} is already merged into ${open.targetRef}; $unmerge it first`);
        }
        return {
          source: src.patient,
          target: tgt.patient,
          institution,
          repointed: [],
          leftAlone: [],
          persons: [],
          alreadyMerged: true,
          preview: !!req.preview,
        };
      }
      // The sender's own merge (ADT A40) already wrote the links; what is left is completed here.
      const declared = links(src.patient, 'replaced-by', req.target).length > 0;
      if (!declared && (src.patient.active === false || links(src.patient, 'replaced-by').length > 0)) {
        throw conflict(`The source ${req.source} is inactive (merged into another record)`);
      }
      if (req.completionOnly && !declared) {
        throw forbidden(
          `Only an administrator merges records: ${req.source} does not declare replaced-by ${req.target}`,
        );
      }

      const before = {
        source: await versionBefore(c, src.id, 'replaced-by', req.target),
        target: await versionBefore(c, tgt.id, 'replaces', req.source),
      };
      // Not declared: the source has no replaced-by link at all (checked above).
      const nextSource: Patient = declared
        ? { ...src.patient, active: false }
        : {
            ...withLinks(src.patient, [
              ...(src.patient.link ?? []),
              { other: { reference: req.target }, type: 'replaced-by' },
            ]),
            active: false,
          };
      const body = req.resultPatient ? structuredClone(req.resultPatient) : structuredClone(tgt.patient);
      // `refer` links are identity's own: kept from the stored record, whatever result-patient says.
      const kept = (body.link ?? []).filter((l) => l.type !== 'refer');
      if (!kept.some((l) => l.type === 'replaces' && local(l.other.reference) === req.source)) {
        kept.push({ other: { reference: req.source }, type: 'replaces' });
      }
      const nextTarget = withLinks(body, [...kept, ...links(tgt.patient, 'refer')]);
      const writtenSource = await writePatient(c, src, nextSource);
      const writtenTarget = await writePatient(c, tgt, nextTarget);

      const repointed: RepointedResource[] = [];
      const leftAlone: string[] = [];
      for (const r of await resourcesReferencing(c, src.id)) {
        const current = await findCurrent(c, r.type, r.id, true);
        if (!current || current.deleted || !current.json) continue;
        const resource = parseFhirJson(current.json) as Record<string, any>;
        if (institutionOf(resource) !== institution) {
          leftAlone.push(`${r.type}/${r.id}`);
          continue;
        }
        const changes = repointReferences(resource, req.source, req.target, repo.baseUrl);
        if (changes.length === 0) continue;
        const written = await repo.update(r.type, r.id, resource, { tx: c, ifMatch: current.versionId });
        repointed.push({ type: r.type, id: r.id, version: written.stored.versionId, changes });
      }

      let identityBefore: IdentityBefore | null = null;
      const persons: string[] = [];
      if (srcRow) {
        // A declared merge (ADT A40) may have been retired by the identity stage already: it was
        // active until this very merge, and an unmerge gives it back active.
        identityBefore = {
          personId: srcRow.personId,
          state: srcRow.state,
          active: srcRow.active || declared,
        };
        if (srcRow.active) {
          await setRecordIdentity(c, req.source, { ...identityBefore, active: false });
          persons.push(srcRow.personId);
        }
      }
      const versions = (b: number | undefined, after: number): PatientVersions => ({
        ...(b !== undefined ? { before: b } : {}),
        after,
      });
      await saveMerge(c, {
        id: uuidv7(),
        sourceRef: req.source,
        targetRef: req.target,
        institution,
        origin: req.origin,
        state: 'merged',
        patients: {
          source: versions(before.source, writtenSource.versionId),
          target: versions(before.target, writtenTarget.versionId),
        },
        identityBefore,
        repointed,
        mergedBy: req.by,
      });
      return {
        source: writtenSource.patient,
        target: writtenTarget.patient,
        institution,
        repointed: repointed.map((r) => `${r.type}/${r.id}`),
        leftAlone,
        persons,
        alreadyMerged: false,
        preview: !!req.preview,
      };
    });
  }

  /**
   * The Patient as it was before the merge: the version before it when nobody wrote the record
   * since (identity's `refer` links kept current); otherwise the current record without the
   * merge's link (and, for the source, active as it was).
   */
  async function restorePatient(
    c: Queryable,
    current: LockedPatient,
    versions: PatientVersions,
    type: 'replaced-by' | 'replaces',
    other: string,
  ) {
    const earlier =
      versions.before !== undefined
        ? (parseFhirJson((await readVersion(c, 'Patient', current.id, versions.before)).json!) as Patient)
        : undefined;
    const refer = links(current.patient, 'refer');
    let next: Patient;
    if (earlier && current.versionId === versions.after) {
      next = withLinks(earlier, [...(earlier.link ?? []).filter((l) => l.type !== 'refer'), ...refer]);
    } else {
      next = withLinks(
        current.patient,
        (current.patient.link ?? []).filter((l) => !(l.type === type && local(l.other.reference) === other)),
      );
      if (type === 'replaced-by') {
        const active = earlier ? earlier.active : true;
        if (active === undefined) delete next.active;
        else next.active = active;
      }
    }
    return writePatient(c, current, next);
  }

  async function unmerge(req: { source: string; by: string; preview?: boolean }): Promise<UnmergeReport> {
    return run<UnmergeReport>(req.preview, async (c) => {
      await lockNames(c, [`record:${req.source}`]);
      const open = await openMergeOf(c, req.source);
      if (!open) {
        const found = await findCurrent(c, 'Patient', req.source.slice('Patient/'.length));
        if (!found || found.deleted) throw notFound(`${req.source} is not known`);
        throw conflict(`${req.source} is not merged into another record (no merge of it is recorded)`);
      }
      const rows = await lockIdentity(
        c,
        [req.source, open.targetRef],
        open.identityBefore ? [open.identityBefore.personId] : [],
      );
      const { src, tgt } = await readPair(c, req.source, open.targetRef);
      const source = await restorePatient(c, src, open.patients.source, 'replaced-by', open.targetRef);
      const target = await restorePatient(c, tgt, open.patients.target, 'replaces', req.source);

      const restored: string[] = [];
      const skipped: string[] = [];
      for (const r of open.repointed) {
        const ref = `${r.type}/${r.id}`;
        const current = await findCurrent(c, r.type, r.id, true);
        if (!current || current.deleted || !current.json) {
          skipped.push(`${ref} (deleted since the merge)`);
          continue;
        }
        const resource = parseFhirJson(current.json) as Record<string, any>;
        const done = restoreReferences(resource, r.changes);
        for (const s of done.skipped) skipped.push(`${ref} at ${s.path.join('.')} (changed since the merge)`);
        if (done.restored.length === 0) continue;
        await repo.update(r.type, r.id, resource, { tx: c, ifMatch: current.versionId });
        restored.push(ref);
      }

      const persons: string[] = [];
      const before = open.identityBefore;
      const row = rows.get(req.source);
      if (before && row) {
        await ensurePerson(c, before.personId);
        await setRecordIdentity(c, req.source, before);
        persons.push(...new Set([before.personId, row.personId]));
      }
      await closeMerge(c, open.id, req.by);
      return {
        source: source.patient,
        target: target.patient,
        restored,
        skipped,
        persons,
        preview: !!req.preview,
        ...(before ? { after: () => linker.pointAt(req.source, before.personId) } : {}),
      };
    });
  }

  return { merge, unmerge };
}
