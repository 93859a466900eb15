import type { Bundle } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { batchedLookup } from '../../src/queue/batched-lookup.ts';

/** A batch-response answering each GET with a searchset holding one resource named after its query. */
const answer = (batch: Bundle): Bundle => ({
  resourceType: 'Bundle',
  type: 'batch-response',
  entry: (batch.entry ?? []).map((e) => {
    const url = e.request!.url;
    if (url.includes('broken')) return { response: { status: '400 Bad Request' } };
    const type = url.split('?')[0]!;
    return {
      response: { status: '200 OK' },
      resource: {
        resourceType: 'Bundle',
        type: 'searchset',
        entry: [{ resource: { resourceType: type, id: url } as any }],
      },
    };
  }),
});

describe('batchedLookup', () => {
  it('sends lookups issued together as one batch and gives each its own answer', async () => {
    const sent: Bundle[] = [];
    const lookup = batchedLookup(
      async (b) => {
        sent.push(b);
        return answer(b);
      },
      (_type, s) => (s.entry ?? []).map((e) => ({ id: e.resource!.id! })),
    );
    const [a, b, c] = await Promise.all([
      lookup('Patient', 'identifier=x%7C1'),
      lookup('Encounter', 'identifier=v'),
      lookup('Observation', 'identifier=o'),
    ]);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.entry!.map((e) => e.request!.method)).toEqual(['GET', 'GET', 'GET']);
    expect(a).toEqual([{ id: 'Patient?identifier=x%7C1&_count=2' }]);
    expect(b![0]!.id.startsWith('Encounter?')).toBe(true);
    expect(c![0]!.id.startsWith('Observation?')).toBe(true);
    // Issued later: a batch of its own.
    await lookup('Patient', 'identifier=y');
    expect(sent).toHaveLength(2);
  });

  it('fails only the lookup whose entry failed, shaped like an HTTP error', async () => {
    const lookup = batchedLookup(
      async (b) => answer(b),
      () => [],
    );
    const results = await Promise.allSettled([
      lookup('Patient', 'broken=1'),
      lookup('Patient', 'identifier=ok'),
    ]);
    expect(results[0]).toMatchObject({ status: 'rejected', reason: { response: { status: 400 } } });
    expect(results[1]).toMatchObject({ status: 'fulfilled' });
  });

  it('splits more lookups than fit one batch', async () => {
    const sizes: number[] = [];
    const lookup = batchedLookup(
      async (b) => {
        sizes.push(b.entry!.length);
        return answer(b);
      },
      () => [],
      3,
    );
    await Promise.all(Array.from({ length: 7 }, (_, i) => lookup('Patient', `identifier=${i}`)));
    expect(sizes).toEqual([3, 3, 1]);
  });
});

/** A repository stand-in for identifier searches: `stored` answers `Type?identifier=a|1,b|2&_count=n`. */
const identifierSearch =
  (
    stored: { resourceType: string; id: string; identifier: { system: string; value: string }[] }[],
    urls: string[],
  ) =>
  async (batch: Bundle): Promise<Bundle> => ({
    resourceType: 'Bundle',
    type: 'batch-response',
    entry: (batch.entry ?? []).map((e) => {
      const url = e.request!.url;
      urls.push(url);
      const [type, query] = url.split('?') as [string, string];
      const params = new URLSearchParams(query);
      const keys = params.get('identifier')!.split(',');
      const count = Number(params.get('_count'));
      const found = stored.filter(
        (r) => r.resourceType === type && r.identifier.some((i) => keys.includes(`${i.system}|${i.value}`)),
      );
      return {
        response: { status: '200 OK' },
        resource: {
          resourceType: 'Bundle',
          type: 'searchset',
          ...(found.length > count ? { link: [{ relation: 'next', url: `${url}&page=2` }] } : {}),
          entry: found
            .slice(0, count)
            .map((r) => ({ resource: r as any, search: { mode: 'match' as const } })),
        },
      };
    }),
  });

describe('batchedLookup: keys of one type in one search', () => {
  const obs = (id: string, value: string) => ({
    resourceType: 'Observation',
    id,
    identifier: [{ system: 'urn:s', value }],
  });
  const ids = (_t: string, s: Bundle) => (s.entry ?? []).map((e) => ({ id: e.resource!.id! }));

  it('asks the keys of one type together and answers each key only its own matches', async () => {
    const urls: string[] = [];
    const lookup = batchedLookup(
      identifierSearch([obs('o1', 'a'), obs('o2', 'b'), obs('o3', 'b')], urls),
      ids,
    );
    const [a, b, c, p] = await Promise.all([
      lookup('Observation', 'identifier=urn%3As|a'),
      lookup('Observation', 'identifier=urn%3As|b'),
      lookup('Observation', 'identifier=urn%3As|c'),
      lookup('Patient', 'identifier=urn%3Ap|1'),
    ]);
    expect(urls).toEqual([
      'Observation?identifier=urn%3As|a,urn%3As|b,urn%3As|c&_count=6',
      'Patient?identifier=urn%3Ap|1&_count=2',
    ]);
    expect(a).toEqual([{ id: 'o1' }]);
    // Two resources hold key b: the writer is told, and refuses the ambiguous key.
    expect(b).toEqual([{ id: 'o2' }, { id: 'o3' }]);
    expect(c).toEqual([]);
    expect(p).toEqual([]);
  });

  it('asks each key again on its own when the shared search was cut short', async () => {
    const urls: string[] = [];
    const many = Array.from({ length: 5 }, (_, i) => obs(`m${i}`, 'm'));
    const lookup = batchedLookup(identifierSearch([...many, obs('o1', 'a')], urls), ids);
    const [m, a] = await Promise.all([
      lookup('Observation', 'identifier=urn%3As|m'),
      lookup('Observation', 'identifier=urn%3As|a'),
    ]);
    expect(urls[0]).toBe('Observation?identifier=urn%3As|m,urn%3As|a&_count=4');
    expect(urls.slice(1).sort()).toEqual([
      'Observation?identifier=urn%3As|a&_count=2',
      'Observation?identifier=urn%3As|m&_count=2',
    ]);
    expect(a).toEqual([{ id: 'o1' }]);
    expect(m).toHaveLength(2); // `_count=2`: enough to tell one from many
  });

  it('keeps a query of other parameters, a key without a system, or a type searched elsewhere to itself', async () => {
    const urls: string[] = [];
    const lookup = batchedLookup(
      async (b) => {
        for (const e of b.entry ?? []) urls.push(e.request!.url);
        return answer(b);
      },
      () => [],
    );
    await Promise.all([
      lookup('Observation', 'identifier=urn%3As|a&status=final'),
      lookup('Observation', 'identifier=a'),
      lookup('DocumentReference', 'identifier=urn%3As|d1'),
      lookup('DocumentReference', 'identifier=urn%3As|d2'),
    ]);
    expect(urls).toEqual([
      'Observation?identifier=urn%3As|a&status=final&_count=2',
      'Observation?identifier=a&_count=2',
      'DocumentReference?identifier=urn%3As|d1&_count=2',
      'DocumentReference?identifier=urn%3As|d2&_count=2',
    ]);
  });
});
