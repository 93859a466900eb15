import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadFhirModel } from '../../../src/repository/fhir-model.ts';
import { FhirRepository } from '../../../src/repository/store/fhir-repository.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

const patient = (id: string, gender: string) => ({
  resourceType: 'Patient',
  id,
  gender,
  name: [{ family: '周', given: ['敏'] }],
});

describe.each(inject('pgServers'))('two updates-as-create of one new id on $name', (server) => {
  let t: TestDatabase;
  let repo: FhirRepository;
  beforeAll(async () => {
    t = await createTestDatabase(server);
    repo = new FhirRepository(t.db, loadFhirModel(), 'http://hie.test/fhir');
  });
  afterAll(async () => t?.drop());

  it('makes the later writer wait for the earlier commit and write version 2', async () => {
    // The first writer's transaction stays open after its write, so the second one surely looks
    // for the id before the first commits — the window in which both would write version 1.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let firstWrote!: () => void;
    const wrote = new Promise<void>((r) => (firstWrote = r));
    const first = t.db.transaction(async (tx) => {
      const r = await repo.update('Patient', 'race-1', patient('race-1', 'female'), { tx });
      firstWrote();
      await held;
      return r;
    });
    await wrote;
    const second = repo.update('Patient', 'race-1', patient('race-1', 'male'));
    // Give the second writer time to reach the database while the first still holds its write.
    await new Promise((r) => setTimeout(r, 300));
    release();
    const [a, b] = await Promise.all([first, second]);
    expect([a.status, a.stored.versionId]).toEqual([201, 1]);
    expect([b.status, b.stored.versionId]).toEqual([200, 2]);
    const current = await repo.read('Patient', 'race-1');
    expect(JSON.parse(current.json!).gender).toBe('male');
    const { rows } = await t.db.query<{ n: string }>(
      `SELECT count(*) AS n FROM resource_history WHERE resource_type = 'Patient' AND id = 'race-1'`,
    );
    expect(Number(rows[0]!.n)).toBe(2);
  });
});
