import type { Database } from '../../db/database.ts';
import { uuidv7 } from '../../kernel/ids.ts';
import type { Demographics } from '../golden/golden-patient.ts';
import { blockingKeys } from '../match/blocking.ts';
import type { MatchRecord } from '../match/record.ts';
import type { Resolution } from '../match/resolve-person.ts';
import { resolveInStore } from '../store/resolve-in-store.ts';
import type { MatchRules } from '../match/rules.ts';
import {
  getRecord,
  lockNames,
  openReview,
  saveDecision,
  saveRecord,
  type RecordState,
} from '../store/identity-store.ts';
import { matchHashOf } from './bulk-load.ts';

/**
 * The matching half of the linker's transaction, for a record the store has not seen: the same
 * locks, candidate query, rejections, `resolvePerson`, and the same rows written (record,
 * blocking keys, decision, review) — without the golden Patient and `refer` link writes that go
 * to the FHIR repository. This is what the identity benchmark times and scores: the matcher
 * against PostgreSQL, not the repository.
 */

export interface ResolveInput {
  record: MatchRecord;
  demographics: Demographics;
  institution?: string;
  tier?: string;
  /** ISO; default now. */
  sourceUpdated?: string;
}

export interface ResolveOutcome {
  personId: string;
  /** `linked` for a link or a new person, `provisional` while a review is open. */
  state: RecordState;
  resolution: Resolution;
  /** Candidate records blocking found. */
  candidates: number;
}

export interface ResolveOneOptions {
  /** Id of a new person (default a UUIDv7, as the linker makes them). */
  newPersonId?: () => string;
}

export async function resolveOne(
  db: Database,
  rules: MatchRules,
  input: ResolveInput,
  opts: ResolveOneOptions = {},
): Promise<ResolveOutcome> {
  const { record, demographics } = input;
  const keys = blockingKeys(record, rules);
  return db.transaction(async (c) => {
    await lockNames(c, [`record:${record.ref}`, ...keys]);
    if (await getRecord(c, record.ref)) {
      // Re-matching a known record (person kept unless alone, ID conflicts) is the linker's job.
      throw new Error(`resolveOne: ${record.ref} is already in the identity store`);
    }
    const { resolution, candidates } = await resolveInStore(c, record, keys, rules);
    // A new record joins the person it links to; otherwise it is a person of its own, provisional
    // while its review is open (the linker's choosePerson for a record without history).
    const linked = resolution.outcome === 'link' && resolution.personId !== undefined;
    const personId = linked ? resolution.personId! : (opts.newPersonId ?? uuidv7)();
    const state: RecordState = resolution.outcome === 'review' ? 'provisional' : 'linked';
    await saveRecord(
      c,
      {
        patientRef: record.ref,
        institution: input.institution ?? null,
        tier: input.tier ?? null,
        personId,
        state,
        match: record,
        matchHash: matchHashOf(record, demographics),
        demographics,
        sourceUpdated: input.sourceUpdated ?? new Date().toISOString(),
        active: true,
      },
      keys,
    );
    await saveDecision(
      c,
      {
        id: uuidv7(),
        patientRef: record.ref,
        ...(resolution.candidateRef ? { candidateRef: resolution.candidateRef } : {}),
        personId,
        rulesVersion: rules.version,
      },
      resolution.decision
        ? {
            ...resolution.decision,
            outcome: resolution.outcome,
            ...(resolution.note ? { note: resolution.note } : {}),
          }
        : { outcome: 'new', grade: 'certainly-not', score: 0, rule: 'probabilistic', fields: {} },
    );
    if (state === 'provisional' && resolution.candidateRef && resolution.decision) {
      await openReview(
        c,
        { id: uuidv7(), leftRef: record.ref, rightRef: resolution.candidateRef },
        resolution.decision,
      );
    }
    return { personId, state, resolution, candidates };
  });
}
