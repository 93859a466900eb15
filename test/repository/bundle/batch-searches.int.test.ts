import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Database } from '../../../src/db/database.ts';
import { BundleProcessor } from '../../../src/repository/bundle/bundle-processor.ts';
import { loadFhirModel } from '../../../src/repository/fhir-model.ts';
import { FhirRepository } from '../../../src/repository/store/fhir-repository.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

const MRN = 'urn:test:mrn';
const LAB = 'urn:test:lab';
const allow = () => undefined;
const get = (url: string) => ({ request: { method: 'GET', url } });

/**
 * A batch of identifier look-ups (what the worker sends before each write) runs as one statement,
 * and each entry is answered exactly as the same search sent alone.
 */
describe.each(inject('pgServers'))('a batch of searches on $name', (server) => {
  let t: TestDatabase;
  let bundles: BundleProcessor;
  const statements: string[] = [];

  beforeAll(async () => {
    t = await createTestDatabase(server);
    // The real database; each statement sent outside a transaction is noted on its way.
    const recording = Object.create(t.db) as Database;
    recording.query = ((text: string, values?: unknown[]) => {
      statements.push(text);
      return t.db.query(text, values);
    }) as Database['query'];
    const repo = new FhirRepository(recording, loadFhirModel(), 'http://hie.test/fhir');
    bundles = new BundleProcessor(repo, 100);
    for (let n = 0; n < 4; n++) {
      await repo.create({
        resourceType: 'Patient',
        identifier: [{ system: MRN, value: `M-${n}` }],
        gender: n % 2 ? 'male' : 'female',
      });
      await repo.create({
        resourceType: 'Observation',
        status: 'final',
        identifier: [{ system: LAB, value: `L-${n}` }],
        code: { text: 'glucose' },
      });
    }
  });
  afterAll(async () => t?.drop());

  const batch = async (entries: unknown[]) =>
    JSON.parse(await bundles.process({ resourceType: 'Bundle', type: 'batch', entry: entries }, {}, allow));
  /** A searchset without what differs between two runs (its id and when it was made). */
  const comparable = (e: any) => ({
    ...e,
    resource: e.resource && {
      ...e.resource,
      id: undefined,
      meta: undefined,
      entry: e.resource.entry?.map((x: any) =>
        x.fullUrl?.startsWith('urn:uuid:') ? { ...x, fullUrl: undefined } : x,
      ),
    },
  });

  it('answers each look-up as it would be answered alone, in one statement for all of them', async () => {
    const entries = [
      get(`Patient?identifier=${MRN}|M-1,${MRN}|M-2&_count=4`),
      get(`Observation?identifier=${LAB}|L-3`),
      get('Patient?gender=male'),
      get(`Patient?identifier=${MRN}|M-9`),
      get(`Patient?identifier=${MRN}|M-0,${MRN}|M-1,${MRN}|M-2&_count=2`),
      get('Patient?nonsense=1'),
    ];
    statements.length = 0;
    const together = await batch(entries);
    const shared = statements.filter((s) => s.includes('UNION ALL'));
    expect(shared).toHaveLength(1);
    // Four look-ups in it; the gender search and the unknown parameter ran on their own.
    expect(shared[0]!.match(/SELECT \d+ AS k/g)).toHaveLength(4);

    const alone = [];
    for (const e of entries) alone.push((await batch([e])).entry[0]);
    expect(together.entry.map(comparable)).toEqual(alone.map(comparable));

    const ids = (e: any) => (e.resource.entry ?? []).map((x: any) => x.resource.identifier[0].value);
    expect(ids(together.entry[0])).toEqual(expect.arrayContaining(['M-1', 'M-2']));
    expect(together.entry[0].resource.total).toBe(2);
    expect(ids(together.entry[1])).toEqual(['L-3']);
    expect(together.entry[3].resource.total).toBe(0);
    // Cut short at its _count: no total, a next link that continues where the page ended.
    expect(ids(together.entry[4])).toHaveLength(2);
    expect(together.entry[4].resource.total).toBeUndefined();
    const next = together.entry[4].resource.link.find((l: any) => l.relation === 'next').url as string;
    const rest = await batch([get(next.replace('http://hie.test/fhir/', ''))]);
    expect([...ids(together.entry[4]), ...ids(rest.entry[0])].sort()).toEqual(['M-0', 'M-1', 'M-2']);
    // An unknown parameter is a warning in a lenient search: it ran alone and says so.
    expect(together.entry[5].response.status).toMatch(/^200/);
    expect(JSON.stringify(together.entry[5].resource)).toContain('not-supported');
  });
});
