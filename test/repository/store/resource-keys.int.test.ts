import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { findCurrentManyForWrite } from '../../../src/repository/store/read.ts';
import { assertReferencesExist } from '../../../src/repository/store/references.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';
import { markDeleted, seed } from '../search/seed.ts';

/**
 * Reads by key take three forms (one key, a few written out as pairs, many through `unnest`);
 * each must find exactly the rows asked for.
 */
describe.each(inject('pgServers'))('reads by resource key on $name', (server) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(server);
    for (let n = 0; n < 30; n++)
      await seed(t.db, { resourceType: n % 2 ? 'Patient' : 'Encounter', id: `k${n}` });
    await markDeleted(t.db, 'Patient', 'k29');
  });
  afterAll(async () => {
    await t?.drop();
  });

  const key = (n: number) => ({ type: n % 2 ? 'Patient' : 'Encounter', id: `k${n}` });

  it.each([1, 3, 16, 17, 25])('current versions for a write: %i keys, some without a row', async (size) => {
    const keys = [...Array.from({ length: size - 1 }, (_, n) => key(n)), { type: 'Patient', id: 'absent' }];
    const found = await t.db.transaction((c) => findCurrentManyForWrite(c, keys));
    expect([...found.keys()].sort()).toEqual(keys.map((k) => `${k.type}/${k.id}`).sort());
    expect(found.get('Patient/absent')).toBeNull();
    for (const k of keys.slice(0, -1)) expect(found.get(`${k.type}/${k.id}`)?.id).toBe(k.id);
    // The type is part of the key: k0 is an Encounter, not a Patient.
    const wrongType = await t.db.transaction((c) =>
      findCurrentManyForWrite(c, [{ type: 'Patient', id: 'k0' }]),
    );
    expect(wrongType.get('Patient/k0')).toBeNull();
  });

  it.each([1, 4, 20])('references to check: %i, each missing or deleted one named', async (size) => {
    const refs = Array.from({ length: size }, (_, n) => ({
      resourceType: key(n).type,
      id: key(n).id,
      path: `Observation.focus[${n}]`,
    }));
    await expect(assertReferencesExist(t.db, refs)).resolves.toBeUndefined();
    const bad = [
      ...refs,
      { resourceType: 'Encounter', id: 'k1', path: 'Observation.encounter' },
      { resourceType: 'Patient', id: 'k29', path: 'Observation.subject' },
    ];
    const err = await assertReferencesExist(t.db, bad).catch((e: unknown) => e);
    expect((err as { status?: number }).status).toBe(422);
    expect(
      (err as { outcome: { issue: { expression: string[] }[] } }).outcome.issue.map((i) => i.expression),
    ).toEqual([['Observation.encounter'], ['Observation.subject']]);
  });
});
