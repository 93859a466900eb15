import type { Database, Queryable } from '../../db/database.ts';
import { uuidv7 } from '../../kernel/ids.ts';
import { badRequest, conflict, notFound } from '../../kernel/outcomes.ts';
import type { IdentityLinker } from '../linker.ts';
import {
  ensurePerson,
  getRecord,
  lockNames,
  recordsOfPerson,
  rememberRejection,
  type IdentityRecordRow,
} from '../store/identity-store.ts';
import {
  closeReview,
  forgetRejections,
  getReview,
  isPerson,
  markPersonMerged,
  saveManualDecision,
  setRecordPerson,
} from './workflow-store.ts';

/** What a decision did: where the record is now, and which persons' golden records it touched. */
export interface WorkflowOutcome {
  /** `Patient/{id}` of the source record the decision was about. */
  ref: string;
  /** Its person (golden Patient id) after the decision. */
  personId: string;
  state: IdentityRecordRow['state'];
  /** Persons whose golden records were rewritten. */
  persons: string[];
}

/** Where a manual link sends a record: another source record's person, or a person directly. */
export type LinkTarget = { record: string } | { person: string };

export interface IdentityWorkflow {
  /** The record in review joins the candidate's person; its provisional person is emptied. */
  accept(reviewId: string, decidedBy: string): Promise<WorkflowOutcome>;
  /** The pair is kept apart for good; the record stays with its own person, now `linked`. */
  reject(reviewId: string, decidedBy: string): Promise<WorkflowOutcome>;
  /** `POST /identity/links`: the source record moves to the target's person, state `manual`. */
  link(source: string, target: LinkTarget, decidedBy: string): Promise<WorkflowOutcome>;
  /** `DELETE /identity/links/{id}`: the record gets a person of its own, apart from its former one. */
  unlink(source: string, decidedBy: string): Promise<WorkflowOutcome>;
  /**
   * `POST /identity/persons/merge`: every record of the `source` person joins the `target` person;
   * the source's golden record stays, inactive and `replaced-by` the target's. Links only: no
   * institution's resource is changed.
   */
  mergePersons(source: string, target: string, decidedBy: string): Promise<WorkflowOutcome>;
}

export interface IdentityWorkflowDeps {
  db: Database;
  linker: Pick<IdentityLinker, 'refreshPerson' | 'pointAt'>;
}

const PATIENT_REF = /^Patient\/([A-Za-z0-9\-.]{1,64})$/;

/** `Patient/{id}` as given, or a 400 naming the field. */
export function patientRef(value: unknown, field: string): string {
  if (typeof value !== 'string' || !PATIENT_REF.test(value)) {
    throw badRequest(`${field} must be a reference "Patient/{id}"`, field);
  }
  return value;
}

interface Settled {
  outcome: Omit<WorkflowOutcome, 'persons'>;
  persons: string[];
  /** Records whose `refer` link must point at a new person. */
  moved: { ref: string; personId: string }[];
}

/**
 * The review workflow and manual links (CONTRACTS "Identity review"). Each decision is one
 * PostgreSQL transaction on the identity tables under the linker's advisory locks (the records'
 * and the persons'), so a decision and a worker re-matching the same record serialise; nothing is
 * changed when a check refuses. Golden records and `refer` links are brought up to date after the
 * commit through the linker, as the matcher does it.
 */
export function createIdentityWorkflow(deps: IdentityWorkflowDeps): IdentityWorkflow {
  const { db, linker } = deps;

  async function settle(run: (c: Queryable) => Promise<Settled>): Promise<WorkflowOutcome> {
    const done = await db.transaction(run);
    const persons = [...new Set(done.persons)];
    for (const personId of persons) await linker.refreshPerson(personId);
    for (const m of done.moved) await linker.pointAt(m.ref, m.personId);
    return { ...done.outcome, persons };
  }

  /**
   * Locks the records and their persons (plus any extra person), then reads them again: a person
   * id read before the lock may have changed, so a changed one is locked too before going on.
   */
  async function lockRecords(
    c: Queryable,
    refs: readonly string[],
    extraPersons: readonly string[] = [],
  ): Promise<Map<string, IdentityRecordRow>> {
    const read = async () => {
      const rows = new Map<string, IdentityRecordRow>();
      for (const ref of refs) {
        const row = await getRecord(c, ref);
        if (row) rows.set(ref, row);
      }
      return rows;
    };
    const names = (rows: Map<string, IdentityRecordRow>) => [
      ...refs.map((r) => `record:${r}`),
      ...[...rows.values()].map((r) => `person:${r.personId}`),
      ...extraPersons.map((p) => `person:${p}`),
    ];
    const before = await read();
    await lockNames(c, names(before));
    const after = await read();
    const moved = [...after.values()].filter((r) => before.get(r.patientRef)?.personId !== r.personId);
    if (moved.length > 0)
      await lockNames(
        c,
        moved.map((r) => `person:${r.personId}`),
      );
    return after;
  }

  const known = (rows: Map<string, IdentityRecordRow>, ref: string, what: string) => {
    const row = rows.get(ref);
    if (!row) throw notFound(`${what} ${ref} is not known to the identity index`);
    if (!row.active) throw conflict(`${what} ${ref} is inactive (merged into another record)`);
    return row;
  };

  /** A person holding a different verified national ID than the record is another resident. */
  async function refuseIdConflict(c: Queryable, row: IdentityRecordRow, personId: string): Promise<void> {
    const own = row.match.nationalId?.value;
    if (!own) return;
    const others = (await recordsOfPerson(c, personId)).filter((r) => r.patientRef !== row.patientRef);
    const clash = others.find((o) => o.match.nationalId && o.match.nationalId.value !== own);
    if (clash) {
      throw conflict(
        `${row.patientRef} and ${clash.patientRef} carry different verified national IDs: ` +
          'two different valid IDs are never one person',
      );
    }
  }

  /**
   * The open review item and its two records, locked. The advisory locks come first, as in the
   * linker, and the item is read again under its row lock: it may have been decided meanwhile.
   */
  async function openItem(c: Queryable, reviewId: string) {
    const first = await getReview(c, reviewId);
    if (!first) throw notFound(`No review item ${reviewId}`);
    const rows = await lockRecords(c, [first.leftRef, first.rightRef]);
    const review = (await getReview(c, reviewId, true))!;
    if (review.state !== 'open') throw conflict(`Review item ${reviewId} is closed (${review.state})`);
    // A manual link or unlink since the item opened decided the record by hand; it stands.
    if (rows.get(review.leftRef)?.state === 'manual') {
      throw conflict(`${review.leftRef} was linked by hand after review item ${reviewId} opened`);
    }
    return { review, rows };
  }

  return {
    accept: (reviewId, decidedBy) =>
      settle(async (c) => {
        const { review, rows } = await openItem(c, reviewId);
        const left = known(rows, review.leftRef, 'The record in review');
        const right = known(rows, review.rightRef, 'The candidate record');
        await refuseIdConflict(c, left, right.personId);
        await setRecordPerson(c, left.patientRef, right.personId, 'linked');
        await closeReview(c, review.id, 'accepted', decidedBy);
        await saveManualDecision(c, {
          id: uuidv7(),
          patientRef: left.patientRef,
          candidateRef: right.patientRef,
          personId: right.personId,
          outcome: 'accept',
          decidedBy,
          review: review.id,
        });
        return {
          outcome: { ref: left.patientRef, personId: right.personId, state: 'linked' },
          persons: [right.personId, left.personId],
          moved: [{ ref: left.patientRef, personId: right.personId }],
        };
      }),

    reject: (reviewId, decidedBy) =>
      settle(async (c) => {
        const { review, rows } = await openItem(c, reviewId);
        const left = known(rows, review.leftRef, 'The record in review');
        const right = rows.get(review.rightRef);
        // Normally the record already sits alone in its provisional person; should it share the
        // candidate's person by now, keeping them apart means a person of its own.
        const personId = right && right.personId === left.personId ? uuidv7() : left.personId;
        await ensurePerson(c, personId);
        await setRecordPerson(c, left.patientRef, personId, 'linked');
        await rememberRejection(c, review.leftRef, review.rightRef);
        await closeReview(c, review.id, 'rejected', decidedBy);
        await saveManualDecision(c, {
          id: uuidv7(),
          patientRef: left.patientRef,
          candidateRef: review.rightRef,
          personId,
          outcome: 'reject',
          decidedBy,
          review: review.id,
        });
        return {
          outcome: { ref: left.patientRef, personId, state: 'linked' },
          persons: [personId, left.personId],
          moved: personId === left.personId ? [] : [{ ref: left.patientRef, personId }],
        };
      }),

    link: (sourceRef, target, decidedBy) =>
      settle(async (c) => {
        const source = patientRef(sourceRef, 'source');
        const sourceId = source.slice('Patient/'.length);
        let personId: string;
        let targetRef: string | undefined;
        if ('record' in target) {
          targetRef = patientRef(target.record, 'target');
          if (targetRef === source) throw badRequest('A record cannot be linked to itself', 'target');
          if (await isPerson(c, targetRef.slice('Patient/'.length))) {
            throw badRequest(
              `${targetRef} is a golden record (a person): name it as "person", or give a source record as "target"`,
              'target',
            );
          }
        } else {
          const ref = patientRef(
            target.person.startsWith('Patient/') ? target.person : `Patient/${target.person}`,
            'person',
          );
          personId = ref.slice('Patient/'.length);
          if (!(await isPerson(c, personId))) throw notFound(`${ref} is not a person (golden record)`);
        }
        if (await isPerson(c, sourceId)) {
          throw badRequest(`${source} is a golden record: only source records are linked`, 'source');
        }

        const refs = targetRef ? [source, targetRef] : [source];
        const rows = await lockRecords(c, refs, targetRef ? [] : [personId!]);
        const row = known(rows, source, 'The source record');
        if (targetRef) personId = known(rows, targetRef, 'The target record').personId;
        const members = (await recordsOfPerson(c, personId!)).filter((r) => r.patientRef !== source);
        if (members.length === 0) {
          throw conflict(`Patient/${personId!} has no active records (an emptied or merged person)`);
        }
        await refuseIdConflict(c, row, personId!);
        await setRecordPerson(c, source, personId!, 'manual');
        await forgetRejections(
          c,
          source,
          members.map((m) => m.patientRef),
        );
        await saveManualDecision(c, {
          id: uuidv7(),
          patientRef: source,
          ...(targetRef ? { candidateRef: targetRef } : {}),
          personId: personId!,
          outcome: 'manual-link',
          decidedBy,
        });
        return {
          outcome: { ref: source, personId: personId!, state: 'manual' },
          persons: [personId!, row.personId],
          moved: [{ ref: source, personId: personId! }],
        };
      }),

    mergePersons: (sourceRef, targetRef, decidedBy) =>
      settle(async (c) => {
        const person = (value: string, field: string) =>
          patientRef(value.startsWith('Patient/') ? value : `Patient/${value}`, field).slice(
            'Patient/'.length,
          );
        const sourceId = person(sourceRef, 'source');
        const targetId = person(targetRef, 'target');
        if (sourceId === targetId) throw badRequest('A person cannot be merged into itself', 'target');
        for (const [id, field] of [
          [sourceId, 'source'],
          [targetId, 'target'],
        ] as const) {
          if (!(await isPerson(c, id)))
            throw notFound(
              `Patient/${id} (${field}) is not a person (golden record): give two golden records`,
            );
        }
        // Both persons and all their records under one set of locks (sorted: no deadlock with the
        // matcher), then read again: a record that moved meanwhile makes the request a conflict.
        const before = [...(await recordsOfPerson(c, sourceId)), ...(await recordsOfPerson(c, targetId))];
        await lockNames(c, [
          `person:${sourceId}`,
          `person:${targetId}`,
          ...before.map((r) => `record:${r.patientRef}`),
        ]);
        const moving = await recordsOfPerson(c, sourceId);
        const staying = await recordsOfPerson(c, targetId);
        if (moving.length + staying.length !== before.length)
          throw conflict('The persons changed while the merge was being prepared; send it again');
        for (const [list, id] of [
          [moving, sourceId],
          [staying, targetId],
        ] as const) {
          if (list.length === 0)
            throw conflict(`Patient/${id} has no active records (an emptied or merged person)`);
        }
        for (const row of moving) await refuseIdConflict(c, row, targetId);
        for (const row of moving) {
          await setRecordPerson(c, row.patientRef, targetId, 'manual');
          await forgetRejections(
            c,
            row.patientRef,
            staying.map((s) => s.patientRef),
          );
          await saveManualDecision(c, {
            id: uuidv7(),
            patientRef: row.patientRef,
            personId: targetId,
            outcome: 'person-merge',
            decidedBy,
          });
        }
        await markPersonMerged(c, sourceId, targetId);
        return {
          outcome: { ref: `Patient/${sourceId}`, personId: targetId, state: 'manual' },
          persons: [targetId, sourceId],
          moved: moving.map((r) => ({ ref: r.patientRef, personId: targetId })),
        };
      }),

    unlink: (sourceRef, decidedBy) =>
      settle(async (c) => {
        const source = patientRef(sourceRef, 'id');
        const rows = await lockRecords(c, [source]);
        const row = known(rows, source, 'The record');
        const others = (await recordsOfPerson(c, row.personId)).filter((r) => r.patientRef !== source);
        if (others.length === 0) {
          throw conflict(`${source} is the only record of its person: there is no link to undo`);
        }
        const personId = uuidv7();
        await ensurePerson(c, personId);
        await setRecordPerson(c, source, personId, 'manual');
        for (const o of others) await rememberRejection(c, source, o.patientRef);
        await saveManualDecision(c, {
          id: uuidv7(),
          patientRef: source,
          personId,
          outcome: 'unlink',
          decidedBy,
        });
        return {
          outcome: { ref: source, personId, state: 'manual' },
          persons: [personId, row.personId],
          moved: [{ ref: source, personId }],
        };
      }),
  };
}
