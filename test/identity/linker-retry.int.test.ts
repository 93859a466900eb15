import type { Patient } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createIdentityLinker, type PatientRepository } from '../../src/identity/linker.ts';
import { loadMatchRules } from '../../src/identity/match/rules.ts';
import { inProcessPatients } from '../../src/identity/workflow/in-process-patients.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';

const BASE = 'https://county-hie.org/fhir';

describe.each(inject('pgServers').filter((s) => s.name === 'pg18-embedded'))(
  'identity retried after a failure on $name',
  (server) => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp(server);
    });
    afterAll(async () => app?.close());

    it('writes the golden record on the retry when the first try failed after committing the person', async () => {
      const created = await app.repo.create({
        resourceType: 'Patient',
        name: [{ text: '周建平' }],
        gender: 'male',
        birthDate: '1962-09-30',
      });
      const patient = JSON.parse(created.stored.json!) as Patient;
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
      const linker = createIdentityLinker({
        db: app.database.db,
        rules: loadMatchRules(),
        canonicalBase: BASE,
        repository: flaky,
      });
      const written = { ref: `Patient/${patient.id}`, patient, institution: 'county-peoples-hospital' };
      await expect(linker.linkWritten([written])).rejects.toThrow(/unavailable/);

      // The job is retried: the record is unchanged, but its person still has no golden record.
      const [again] = await linker.linkWritten([written]);
      const golden = await real.find(`Patient/${again!.personId}`);
      expect(golden?.link).toEqual([{ other: { reference: `Patient/${patient.id}` }, type: 'seealso' }]);
      const source = await real.read(patient.id!);
      expect(source.link).toEqual([{ other: { reference: `Patient/${again!.personId}` }, type: 'refer' }]);
    });
  },
);
