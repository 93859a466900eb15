import type { Bundle } from 'fhir/r4';
import type { CurrentMatch, Lookup } from './write-plan.ts';

interface Pending {
  type: string;
  query: string;
  resolve: (m: CurrentMatch[]) => void;
  reject: (e: unknown) => void;
}

/**
 * Lookups issued together (the conditional keys of one message — an ORU has a patient, a report
 * and six results — and of messages written concurrently) go to the repository as ONE `batch`
 * Bundle of searches instead of one HTTP request each: request count, not query cost, dominated.
 * `send` posts the batch and returns its batch-response; each entry answers one lookup.
 */
export function batchedLookup(
  send: (batch: Bundle) => Promise<Bundle>,
  toMatches: (type: string, searchset: Bundle) => CurrentMatch[],
  maxPerBatch = 100,
): Lookup {
  const queue: Pending[] = [];
  const flush = async () => {
    const taken = queue.splice(0, maxPerBatch);
    if (queue.length > 0) queueMicrotask(() => void flush());
    if (taken.length === 0) return;
    const batch: Bundle = {
      resourceType: 'Bundle',
      type: 'batch',
      entry: taken.map((p) => ({ request: { method: 'GET', url: `${p.type}?${p.query}&_count=2` } })),
    };
    let response: Bundle;
    try {
      response = await send(batch);
    } catch (err) {
      for (const p of taken) p.reject(err);
      return;
    }
    taken.forEach((p, i) => {
      const entry = response.entry?.[i];
      const status = Number.parseInt(entry?.response?.status ?? '0', 10);
      if (status >= 200 && status < 300 && entry?.resource?.resourceType === 'Bundle') {
        p.resolve(toMatches(p.type, entry.resource as Bundle));
      } else {
        // Shaped like an HTTP client error, so the caller classifies it as it would a single GET.
        p.reject({ response: { status: status || 502, data: entry?.response?.outcome } });
      }
    });
  };
  return (type, query) =>
    new Promise<CurrentMatch[]>((resolve, reject) => {
      if (queue.length === 0) queueMicrotask(() => void flush());
      queue.push({ type, query, resolve, reject });
    });
}
