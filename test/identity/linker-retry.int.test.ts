import type { Patient } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createIdentityLinker, type PatientRepository } from '../../src/identity/linker.ts';
import { loadMatchRules } from '../../src/identity/match/rules.ts';
import { NATIONAL_ID_SYSTEM, nationalIdCheckChar } from '../../src/identity/national-id.ts';
import { inProcessPatients } from '../../src/identity/workflow/in-process-patients.ts';
import { lockNames } from '../../src/identity/store/identity-store.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';

const BASE = 'https://county-hie.org/fhir';
const validId = (first17: string) => first17 + nationalIdCheckChar(first17);

describe.each(inject('pgServers').filter((s) => s.name === 'pg18-embedded'))(
  'identity retried after a failure on $name',
  (server) => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp(server);
    });
    afterAll(async () => app?.close());

    /** A Patient created in the repository, as stored (with its id and version). */
    const storedPatient = async (fields: Omit<Patient, 'resourceType'>) => {
      const created = await app.repo.create({ resourceType: 'Patient', ...fields });
      return JSON.parse(created.stored.json!) as Patient;
    };

    /** The identity stage on the test app's database, writing through `repository`. */
    const linkerWriting = (repository: PatientRepository) =>
      createIdentityLinker({ db: app.database.db, rules: loadMatchRules(), canonicalBase: BASE, repository });

    it('writes the golden record on the retry when the first try failed after committing the person', async () => {
      const patient = await storedPatient({
        name: [{ text: '周建平' }],
        gender: 'male',
        birthDate: '1962-09-30',
      });
      const real = inProcessPatients(app.repo);
      // The repository goes away for the first write identity makes (the golden record).
      let refuse = 1;
      const flaky: PatientRepository = {
        read: real.read,
        update: async (p, ifMatch) => {
          if (refuse-- > 0) throw Object.assign(new Error('repository unavailable'), { status: 503 });
          await real.update(p, ifMatch);
        },
      };
      const linker = linkerWriting(flaky);
      const written = { ref: `Patient/${patient.id}`, patient, institution: 'county-peoples-hospital' };
      await expect(linker.linkWritten([written])).rejects.toThrow(/unavailable/);

      // The job is retried: the record is unchanged, but its person still has no golden record.
      const [again] = await linker.linkWritten([written]);
      const golden = await real.find(`Patient/${again!.personId}`);
      expect(golden?.link).toEqual([{ other: { reference: `Patient/${patient.id}` }, type: 'seealso' }]);
      const source = await real.read(patient.id!);
      expect(source.link).toEqual([{ other: { reference: `Patient/${again!.personId}` }, type: 'refer' }]);
    });

    it('writes the golden record again when a write that raced another landed last with older content', async () => {
      const nid = validId('33018219750312202');
      const registration = (name: string) =>
        storedPatient({
          identifier: [{ system: NATIONAL_ID_SYSTEM, value: nid }],
          name: [{ text: name }],
          gender: 'female',
          birthDate: '1975-03-12',
        });
      const a = await registration('陈秀英');
      const b = await registration('陈秀英');
      const real = inProcessPatients(app.repo);
      // The first golden write (the person with record A alone) is held until B's has landed.
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let reached!: () => void;
      const holding = new Promise<void>((r) => (reached = r));
      let first = true;
      const slow: PatientRepository = {
        read: real.read,
        update: async (p, ifMatch) => {
          if (first && (p.link ?? []).some((l) => l.type === 'seealso')) {
            first = false;
            reached();
            await held;
          }
          await real.update(p, ifMatch);
        },
      };
      const linker = linkerWriting(slow);
      const linkA = linker.linkWritten([
        { ref: `Patient/${a.id}`, patient: a, institution: 'county-peoples-hospital' },
      ]);
      await holding;
      const [linkedB] = await linker.linkWritten([
        { ref: `Patient/${b.id}`, patient: b, institution: 'chengguan-community-health-centre' },
      ]);
      release();
      const [linkedA] = await linkA;
      expect(linkedB!.personId).toBe(linkedA!.personId);
      // A's stale write landed after B's current one; the golden record names both records again.
      const golden = await real.find(`Patient/${linkedA!.personId}`);
      expect((golden?.link ?? []).map((l) => l.other.reference).sort()).toEqual(
        [`Patient/${a.id}`, `Patient/${b.id}`].sort(),
      );
    });

    it('answers a record seen before with the same data without waiting for any lock, unless its golden record is stale', async () => {
      const patient = await storedPatient({
        name: [{ text: '钱玉兰' }],
        gender: 'female',
        birthDate: '1958-04-02',
      });
      const real = inProcessPatients(app.repo);
      const linker = linkerWriting(real);
      const ref = `Patient/${patient.id}`;
      const [first] = await linker.linkWritten([{ ref, patient, institution: 'county-peoples-hospital' }]);
      // As the worker writes it again (an ORU repeating the patient): with its refer link kept.
      const linked = await real.read(patient.id!);
      const again = { ref, patient: linked, institution: 'county-peoples-hospital' };

      // Another transaction holds the record's identity lock: the locked path would wait for it.
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let locked!: () => void;
      const holding = new Promise<void>((r) => (locked = r));
      const holder = app.database.db.transaction(async (c) => {
        await lockNames(c, [`record:${ref}`]);
        locked();
        await held;
      });
      await holding;
      try {
        const answer = await Promise.race([
          linker.linkWritten([again]),
          new Promise((r) => setTimeout(() => r('waited'), 3_000)),
        ]);
        expect(answer).toEqual([{ ref, personId: first!.personId, outcome: 'unchanged' }]);

        // A golden record whose stored hash is not the current one goes the locked way and is rewritten.
        await app.database.db.query(`UPDATE identity_person SET golden_hash = 'stale' WHERE id = $1`, [
          first!.personId,
        ]);
        const slow = linker.linkWritten([again]);
        const early = await Promise.race([slow, new Promise((r) => setTimeout(() => r('waited'), 300))]);
        expect(early).toBe('waited');
        release();
        expect(await slow).toEqual([{ ref, personId: first!.personId, outcome: 'unchanged' }]);
        const { rows } = await app.database.db.query(
          `SELECT golden_hash FROM identity_person WHERE id = $1`,
          [first!.personId],
        );
        expect(rows[0].golden_hash).toMatch(/^[0-9a-f]{64}$/);
      } finally {
        release();
        await holder;
      }
    });
  },
);
