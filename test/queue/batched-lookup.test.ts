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
