import type { Bundle } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { identifierCriteria } from '../../src/kernel/search-values.ts';
import { batchedLookup } from '../../src/queue/batched-lookup.ts';
import { BundleProcessor } from '../../src/repository/bundle/bundle-processor.ts';
import { loadFhirModel } from '../../src/repository/fhir-model.ts';
import { FhirRepository } from '../../src/repository/store/fhir-repository.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

const SYS = 'https://county-hie.org/fhir/sid/source-id/test-lab';
const observation = (value: string) => ({
  resourceType: 'Observation',
  status: 'final',
  identifier: [{ system: SYS, value }],
  code: { text: 'ALT' },
});

/** Shared identifier searches against the real repository: FHIR's "or" splits back per key. */
describe.each(inject('pgServers'))('batched look-ups against the repository on $name', (server) => {
  let t: TestDatabase;
  let repo: FhirRepository;
  const sent: Bundle[] = [];
  beforeAll(async () => {
    t = await createTestDatabase(server);
    repo = new FhirRepository(t.db, loadFhirModel(), 'http://hie.test/fhir');
  });
  afterAll(async () => t?.drop());

  it('finds each key its own resources, several for a key two resources share, none for an unknown one', async () => {
    const a = await repo.create(observation('L-1,5')); // a comma (escaped): asked on its own
    const b = await repo.create(observation('L-2'));
    const c1 = await repo.create(observation('L-3'));
    const c2 = await repo.create(observation('L-3'));
    const bundles = new BundleProcessor(repo, 100);
    const lookup = batchedLookup(
      async (batch) => {
        sent.push(batch);
        return JSON.parse(await bundles.process(batch, {}, () => undefined)) as Bundle;
      },
      (_type, s) => (s.entry ?? []).map((e) => ({ id: e.resource!.id! })),
    );
    const key = (v: string) => identifierCriteria(SYS, v);
    const [ra, rb, rc, rx] = await Promise.all([
      lookup('Observation', key('L-1,5')),
      lookup('Observation', key('L-2')),
      lookup('Observation', key('L-3')),
      lookup('Observation', key('L-404')),
    ]);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.entry).toHaveLength(2); // the comma key alone, the three others together
    expect(ra).toEqual([{ id: a.stored.id }]);
    expect(rb).toEqual([{ id: b.stored.id }]);
    expect(rc!.map((m) => m.id).sort()).toEqual([c1.stored.id, c2.stored.id].sort());
    expect(rx).toEqual([]);
  });
});
