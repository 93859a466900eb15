import { createHash } from 'node:crypto';
import type { Patient, PatientLink } from 'fhir/r4';
import type { Database, Queryable } from '../db/database.ts';
import { uuidv7 } from '../kernel/ids.ts';
import type { Logger } from '../kernel/logger.ts';
import { demographicsOf, goldenPatient, RECORD_KIND } from './golden/golden-patient.ts';
import {
  foundedGolden,
  foundingFor,
  isReservedPerson,
  releasePerson,
  sameContent,
  type Founding,
} from './founding.ts';
import { blockingKeys } from './match/blocking.ts';
import { matchHashOf, matchRecordOf, type MatchRecord } from './match/record.ts';
import type { Resolution } from './match/resolve-person.ts';
import { resolveInStore } from './store/resolve-in-store.ts';
import type { MatchRules } from './match/rules.ts';
import {
  getRecord,
  recordAndCandidates,
  recordsWithGoldenState,
  setGoldenHashIfRecordsAre,
  institutionTier,
  lockNames,
  mergedInto,
  openReview,
  recordsOfPerson,
  saveRecord,
  setGoldenHash,
  setRecordActive,
  type IdentityRecordRow,
} from './store/identity-store.ts';

/** A source Patient the pipeline has just written. */
export interface WrittenPatient {
  /** `Patient/{id}` */
  ref: string;
  versionId?: string;
  /** The content as written (the mapped resource). */
  patient: Patient;
  institution: string;
  tier?: string;
  /**
   * The person `foundingFor` reserved for this record, when the Patient was created in the
   * transaction that also wrote that person's golden record and the Patient's `refer` link to it.
   */
  founded?: string;
}

/** How identity reaches the repository: over FHIR REST, like the rest of the pipeline. */
export interface PatientRepository {
  read(id: string): Promise<Patient>;
  /** PUT Patient/{id}; with `ifMatch`, a stale version fails with an error whose `status` is 412. */
  update(patient: Patient, ifMatch?: string): Promise<void>;
  /** Several PUTs in one FHIR transaction (all or nothing; 412 when an `ifMatch` is stale). */
  transaction?(puts: readonly { patient: Patient; ifMatch?: string }[]): Promise<void>;
}

export interface LinkOutcome {
  ref: string;
  /** Its person; empty for a merged record identity never saw. */
  personId: string;
  /** `merged`: the record was merged away by its sender (ADT A40) and left its person. */
  outcome: 'link' | 'review' | 'new' | 'unchanged' | 'merged';
}

/**
 * Finishes a merge the sender declared in its own records (ADT A40: the merged Patient written
 * `active=false` with `replaced-by`): its institution's references re-pointed and the record out
 * of its person, exactly as `Patient/$merge` does it (see `merge/fhir-merge-client.ts`).
 */
export interface MergeCompleter {
  complete(sourceRef: string, targetRef: string): Promise<void>;
}

export interface IdentityLinker {
  /** Resolves each written Patient to its person and keeps the golden records and links current. */
  linkWritten(written: readonly WrittenPatient[]): Promise<LinkOutcome[]>;
  /** Rewrites a person's golden Patient from the records the identity tables hold for it now. */
  refreshPerson(personId: string): Promise<void>;
  /** Points a source record (`Patient/{id}`) at a person with its `refer` link (read, then If-Match). */
  pointAt(ref: string, personId: string): Promise<void>;
  /**
   * For a Patient about to be created (entry `sourceUrl`): when no record resembles it, a person
   * reserved for it and its golden record, to write in the same transaction (`founding.ts`).
   */
  foundingFor?(patient: Patient, institution: string, sourceUrl: string): Promise<Founding | undefined>;
  /** Gives back a reserved person whose transaction was refused. */
  releaseFounding?(personId: string): Promise<void>;
}

export interface IdentityLinkerOptions {
  db: Database;
  rules: MatchRules;
  canonicalBase: string;
  repository: PatientRepository;
  logger?: Logger;
  /** Absent: a merged record only leaves its person; references stay where the sender put them. */
  merges?: MergeCompleter;
}

const hashOf = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('hex');

/** A record its sender merged into another (ADT A40): inactive, with a `replaced-by` link. */
export function isMergedAway(p: Patient): boolean {
  return p.active === false && (p.link ?? []).some((l) => l.type === 'replaced-by');
}

/** True for the golden record itself: identity never matches persons against persons. */
export function isGolden(p: Patient, base: string): boolean {
  return (p.meta?.tag ?? []).some((t) => t.system === RECORD_KIND(base) && t.code === 'golden');
}

/**
 * The identity stage (`resolve(patient) → person`). The worker calls it with the Patients of each
 * message it wrote. Matching and the choice of person happen in one PostgreSQL transaction under
 * advisory locks on the record's blocking keys, so two workers never both create a person for one
 * resident; the golden record is rewritten under a lock on the person; the source Patient then
 * gets its `refer` link (the worker keeps that link on later writes of the same record).
 */
export function createIdentityLinker(opts: IdentityLinkerOptions): IdentityLinker {
  const { db, rules, repository } = opts;
  const base = opts.canonicalBase;

  const tiers = new Map<string, Promise<string | undefined>>();
  const tierOf = (institution: string) => {
    let hit = tiers.get(institution);
    if (!hit) {
      hit = institutionTier(db, institution);
      tiers.set(institution, hit);
      hit.catch(() => tiers.delete(institution));
    }
    return hit;
  };

  async function linkOne(w: WrittenPatient): Promise<LinkOutcome> {
    const tier = w.tier ?? (await tierOf(w.institution));
    const id = w.ref.slice('Patient/'.length);
    const record = matchRecordOf({ ...w.patient, id }, { base, institution: w.institution });
    const demographics = demographicsOf(w.patient);
    const matchHash = matchHashOf(record, demographics);
    const keys = blockingKeys(record, rules);

    // A record founded with the message is new to identity: nothing to find current.
    const current = w.founded ? undefined : await alreadyCurrent(w, matchHash);
    if (current) return { ref: w.ref, personId: current, outcome: 'unchanged' };

    const together = Boolean(repository.transaction && w.versionId);
    const settled = await db.transaction(async (c) => {
      const decided = await decide(c);
      if (decided.affected.length !== 1 || !(together || w.founded)) return decided;
      // The common case's golden record is read in this transaction (records, then the person:
      // the order the workflows lock in), not in one of its own: two round trips and a lock fewer.
      // A person this transaction founded is unknown to any other until it commits: no lock. So
      // is a reserved one: only its golden record exists, and every workflow starts from records.
      if (!decided.founded) await lockNames(c, [`person:${decided.personId}`]);
      const golden = await goldenWithState(c, decided.personId);
      if (
        w.founded === decided.personId &&
        sameContent(golden.golden, foundedGolden(opts, w.founded, w.ref, w.patient, tier))
      ) {
        // Its golden record and `refer` link were written with the message: only the hash is kept,
        // here, as nothing is written to the repository in between.
        if (golden.stored !== golden.hash) await setGoldenHash(c, decided.personId, golden.hash);
        return { ...decided, current: true as const };
      }
      return together ? { ...decided, golden } : decided;
    });

    const done = { ref: w.ref, personId: settled.personId, outcome: settled.outcome };
    if ('current' in settled) return done;
    if ('golden' in settled && settled.golden) {
      await goldenAndLinkTogether(settled.personId, id, w, settled.golden);
    } else {
      for (const personId of settled.affected) await writeGolden(personId);
      await ensureReferLink(id, settled.personId, w.patient);
    }
    return done;

    async function decide(c: Queryable) {
      await lockNames(c, [`record:${w.ref}`, ...keys]);
      const { existing, candidates } = await recordAndCandidates(c, w.ref, keys);
      if (existing && existing.matchHash === matchHash && existing.active) {
        // Still "affected": an earlier try may have committed the person and then failed before
        // its golden record was written (the stored golden hash says whether it was).
        return { personId: existing.personId, outcome: 'unchanged' as const, affected: [existing.personId] };
      }
      const row = (personId: string, state: IdentityRecordRow['state']): IdentityRecordRow => ({
        patientRef: w.ref,
        institution: w.institution,
        tier: tier ?? null,
        personId,
        state,
        match: record,
        matchHash,
        demographics,
        sourceUpdated: new Date().toISOString(),
        active: true,
      });
      if (existing?.state === 'manual') {
        // A person linked it by hand: new demographics update the record, not the decision.
        await saveRecord(c, row(existing.personId, 'manual'), keys);
        return { personId: existing.personId, outcome: 'unchanged' as const, affected: [existing.personId] };
      }

      const { resolution } = await resolveInStore(c, record, keys, rules, candidates);
      const reserved = existing ? undefined : await reservedFor(c, w);
      const chosen = await choosePerson(c, record, existing, resolution, reserved);
      // The record and the decision that placed it, in one statement.
      await saveRecord(c, row(chosen.personId, chosen.state), keys, {
        row: {
          id: uuidv7(),
          patientRef: w.ref,
          ...(resolution.candidateRef ? { candidateRef: resolution.candidateRef } : {}),
          personId: chosen.personId,
          rulesVersion: rules.version,
        },
        decision: resolution.decision
          ? {
              ...resolution.decision,
              outcome: resolution.outcome,
              ...(resolution.note ? { note: resolution.note } : {}),
            }
          : { outcome: 'new', grade: 'certainly-not', score: 0, rule: 'probabilistic', fields: {} },
      });
      if (chosen.state === 'provisional' && resolution.candidateRef && resolution.decision) {
        await openReview(
          c,
          { id: uuidv7(), leftRef: w.ref, rightRef: resolution.candidateRef },
          resolution.decision,
        );
      }
      const affected = [
        chosen.personId,
        ...(existing && existing.personId !== chosen.personId ? [existing.personId] : []),
        // A person reserved for this record that did not get it: its golden record is retired.
        ...(reserved && reserved !== chosen.personId ? [reserved] : []),
      ];
      return {
        personId: chosen.personId,
        outcome: resolution.outcome,
        affected,
        founded: chosen.founded === true,
      };
    }
  }

  /**
   * The common case — a record joins (or founds) one person — in one FHIR transaction: the golden
   * record and the source's `refer` link, the source written from the content just stored with
   * If-Match on its version, so no read is needed. Anything unexpected (a 412: the source changed
   * meanwhile) falls back to the step-by-step path.
   */
  async function goldenAndLinkTogether(
    personId: string,
    id: string,
    w: WrittenPatient,
    now: { golden: Patient; hash: string; stored: string | null; fingerprint: string | null },
  ): Promise<void> {
    const target = `Patient/${personId}`;
    const linked = (w.patient.link ?? []).some((l) => l.type === 'refer' && l.other.reference === target);
    const { golden, hash, stored, fingerprint } = now;
    const puts: { patient: Patient; ifMatch?: string }[] = [];
    if (stored !== hash) puts.push({ patient: golden });
    if (!linked) {
      const link: PatientLink[] = [
        ...(w.patient.link ?? []).filter((l) => l.type !== 'refer'),
        { other: { reference: target }, type: 'refer' },
      ];
      puts.push({ patient: { ...w.patient, id, link }, ifMatch: w.versionId! });
    }
    if (puts.length === 0) return;
    try {
      await repository.transaction!(puts);
    } catch (err) {
      if ((err as { status?: number }).status !== 412) throw err;
      await writeGolden(personId);
      await ensureReferLink(id, personId, w.patient);
      return;
    }
    if (stored === hash) return;
    const current = await recordGoldenWritten(personId, hash, fingerprint);
    // Another record joined the person meanwhile: write the golden record again, current.
    if (!current) await writeGolden(personId, true);
  }

  /**
   * The person reserved for a record identity has not placed yet: the one the worker founded
   * with the message, or — after a worker stopped between writing the message and placing the
   * record — the reserved person the source's `refer` link names.
   */
  async function reservedFor(c: Queryable, w: WrittenPatient): Promise<string | undefined> {
    if (w.founded) return w.founded;
    const refers = (w.patient.link ?? []).filter((l) => l.type === 'refer');
    const named = /^Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(refers[0]?.other.reference ?? '')?.[1];
    if (refers.length !== 1 || !named) return undefined;
    return (await isReservedPerson(c, named)) ? named : undefined;
  }

  /**
   * The person of a record identity has seen with this very match data, when nothing is left to
   * do: the source already points at that person and its golden record is the one its records
   * call for. Found without a transaction or a lock (two reads), since nothing is written; an ORU
   * repeats its patient with every result. Anything else (undefined) takes the locked path.
   */
  async function alreadyCurrent(w: WrittenPatient, matchHash: string): Promise<string | undefined> {
    const refers = (w.patient.link ?? []).filter((l) => l.type === 'refer');
    // A Patient new to identity carries no `refer` link: no read spent on it.
    if (refers.length === 0) return undefined;
    const seen = await getRecord(db, w.ref);
    if (!seen?.active || seen.matchHash !== matchHash) return undefined;
    if (!refers.some((l) => l.other.reference === `Patient/${seen.personId}`)) return undefined;
    const { hash, stored } = await goldenWithState(db, seen.personId);
    return stored === hash ? seen.personId : undefined;
  }

  /**
   * The person for a record. A record seen before keeps its person unless it was alone there (then
   * it is matched like a new one) or its person now holds a different verified national ID (then
   * it leaves): persons do not flap with every demographic edit.
   */
  async function choosePerson(
    c: Queryable,
    record: MatchRecord,
    existing: IdentityRecordRow | undefined,
    resolution: Resolution,
    reserved?: string,
  ): Promise<{ personId: string; state: IdentityRecordRow['state']; founded?: boolean }> {
    if (existing) {
      const others = (await recordsOfPerson(c, existing.personId)).filter(
        (r) => r.patientRef !== existing.patientRef,
      );
      if (others.length === 0) {
        // Alone in its person: matched like a new record, but keeps its person id when nothing fits.
        if (resolution.outcome === 'link' && resolution.personId) {
          return { personId: resolution.personId, state: 'linked' };
        }
        return {
          personId: existing.personId,
          state: resolution.outcome === 'review' ? 'provisional' : 'linked',
        };
      }
      const conflict = others.some(
        (o) =>
          o.match.nationalId && record.nationalId && o.match.nationalId.value !== record.nationalId.value,
      );
      if (!conflict) return { personId: existing.personId, state: existing.state };
      // Its person now holds a different verified ID: it leaves, and is matched anew below.
    }
    if (resolution.outcome === 'link' && resolution.personId) {
      return { personId: resolution.personId, state: 'linked' };
    }
    return {
      personId: reserved ?? uuidv7(),
      state: resolution.outcome === 'review' ? 'provisional' : 'linked',
      founded: true,
    };
  }

  /** The golden Patient the person's records call for now, and its hash, on an open client. */
  async function goldenOf(c: Queryable, personId: string): Promise<{ golden: Patient; hash: string }> {
    return goldenFrom(c, personId, await recordsOfPerson(c, personId));
  }

  /** The golden record, its hash, the hash last written and the records' fingerprint: one read. */
  async function goldenWithState(c: Queryable, personId: string) {
    const { records, stored, fingerprint } = await recordsWithGoldenState(c, personId);
    return { ...(await goldenFrom(c, personId, records)), stored, fingerprint };
  }

  async function goldenFrom(
    c: Queryable,
    personId: string,
    records: IdentityRecordRow[],
  ): Promise<{ golden: Patient; hash: string }> {
    const golden = goldenPatient(
      personId,
      records.map((r) => ({
        ref: r.patientRef,
        ...(r.tier ? { tier: r.tier } : {}),
        updated: r.sourceUpdated,
        demographics: r.demographics,
      })),
      rules.tierTrust,
      base,
    );
    if (records.length === 0) {
      golden.active = false;
      // A person merged into another points at the survivor, as a merged record does.
      const into = await mergedInto(c, personId);
      if (into) golden.link = [{ type: 'replaced-by', other: { reference: `Patient/${into}` } }];
    }
    return { golden, hash: hashOf(golden) };
  }

  /**
   * Under the person's lock: the golden record its records call for, the hash last written, and
   * the fingerprint of the records it was computed from.
   */
  function goldenNow(personId: string) {
    return db.transaction(async (c) => {
      await lockNames(c, [`person:${personId}`]);
      return goldenWithState(c, personId);
    });
  }

  /**
   * After a golden write: records its hash, unless the person's records changed meanwhile
   * (false — the caller writes again, so the last write is always current). With the records'
   * fingerprint this is one statement outside any transaction; a person without records (merged
   * away, its golden record pointing at the survivor) is compared in full under its lock.
   */
  async function recordGoldenWritten(
    personId: string,
    hash: string,
    fingerprint: string | null,
  ): Promise<boolean> {
    if (fingerprint !== null) return setGoldenHashIfRecordsAre(db, personId, hash, fingerprint);
    return db.transaction(async (c) => {
      await lockNames(c, [`person:${personId}`]);
      if ((await goldenOf(c, personId)).hash !== hash) return false;
      await setGoldenHash(c, personId, hash);
      return true;
    });
  }

  /**
   * Rewrites the person's golden Patient when what it would hold changed. No database
   * transaction is held across the HTTP write: the repository may share this process's pool, and
   * a worker holding connections while waiting for the repository to get one would starve it.
   * Instead the hash is compared again after the write; a golden record that changed meanwhile
   * (another worker added a record) is written again, so the last write is always current.
   */
  async function writeGolden(personId: string, force = false): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const { golden, hash, stored, fingerprint } = await goldenNow(personId);
      // After a write that raced another, the stored hash may be the other writer's while the
      // repository holds this one's older content, so the golden record is written regardless.
      if (stored === hash && !force && attempt === 0) return;
      await repository.update(golden);
      const settled = await recordGoldenWritten(personId, hash, fingerprint);
      if (settled) return;
    }
    throw new Error(`HIE-IDENTITY-GOLDEN-CONFLICT Patient/${personId}`);
  }

  /** Points the source record at its person (`refer`), keeping its other links (A40 merges). */
  async function ensureReferLink(id: string, personId: string, written: Patient): Promise<void> {
    const target = `Patient/${personId}`;
    const has = (p: Patient) =>
      (p.link ?? []).some((l) => l.type === 'refer' && l.other.reference === target);
    if (has(written)) return;
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await repository.read(id);
      if (has(current)) return;
      // `refer` links on a source record are identity's own (merges use replaced-by/replaces).
      const kept = (current.link ?? []).filter((l) => l.type !== 'refer');
      const link: PatientLink[] = [...kept, { other: { reference: target }, type: 'refer' }];
      try {
        await repository.update({ ...current, link }, current.meta?.versionId);
        return;
      } catch (err) {
        if ((err as { status?: number }).status !== 412) throw err;
      }
    }
    throw new Error(`HIE-IDENTITY-LINK-CONFLICT Patient/${id}`);
  }

  /**
   * A record its sender merged away (ADT A40) is not matched — it carries the survivor's
   * demographics — but leaves its person. The written content may still name the survivor by the
   * message's `urn:uuid:`, so the stored record says which Patient replaced it.
   */
  async function retireMerged(w: WrittenPatient): Promise<LinkOutcome> {
    const stored = await repository.read(w.ref.slice('Patient/'.length));
    const targetRef = (stored.link ?? [])
      .filter((l) => l.type === 'replaced-by')
      .map((l) => /(?:^|\/)(Patient\/[A-Za-z0-9\-.]{1,64})$/.exec(l.other.reference ?? '')?.[1])
      .find((r) => r !== undefined);
    if (opts.merges && targetRef) {
      await opts.merges.complete(w.ref, targetRef);
    } else {
      const row = await db.transaction(async (c) => {
        await lockNames(c, [`record:${w.ref}`]);
        const found = await getRecord(c, w.ref);
        if (found?.active) await setRecordActive(c, w.ref, false);
        return found;
      });
      if (row?.active) await writeGolden(row.personId);
    }
    const row = await getRecord(db, w.ref);
    return { ref: w.ref, personId: row?.personId ?? '', outcome: 'merged' };
  }

  return {
    refreshPerson: (personId) => writeGolden(personId),
    pointAt: (ref, personId) =>
      ensureReferLink(ref.slice('Patient/'.length), personId, { resourceType: 'Patient' }),
    foundingFor: (patient, institution, sourceUrl) =>
      isGolden(patient, base) || isMergedAway(patient)
        ? Promise.resolve(undefined)
        : foundingFor({ db, rules, canonicalBase: base, tierOf }, patient, institution, sourceUrl),
    releaseFounding: (personId) => releasePerson(db, personId),
    async linkWritten(written) {
      const out: LinkOutcome[] = [];
      for (const w of written) {
        if (isGolden(w.patient, base)) continue;
        out.push(isMergedAway(w.patient) ? await retireMerged(w) : await linkOne(w));
      }
      return out;
    },
  };
}
