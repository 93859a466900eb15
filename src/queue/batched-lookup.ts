import type { Bundle, BundleEntry } from 'fhir/r4';
import type { CurrentMatch, Lookup } from './write-plan.ts';

interface Pending {
  type: string;
  query: string;
  resolve: (m: CurrentMatch[]) => void;
  reject: (e: unknown) => void;
  /** Its `system|value` when the query is one business identifier (may share a search). */
  key?: { system: string; value: string };
  /** Its shared search came back cut short: asked again on its own. */
  alone?: boolean;
}

/**
 * Types whose `identifier` search parameter is exactly their `identifier` element, so a searchset
 * can be split back by key on this side. (DocumentReference also searches masterIdentifier, and a
 * few types have none: those are asked one key at a time.)
 */
const SHAREABLE = new Set([
  'AllergyIntolerance',
  'CarePlan',
  'CareTeam',
  'Condition',
  'Coverage',
  'DiagnosticReport',
  'Encounter',
  'EpisodeOfCare',
  'ImagingStudy',
  'Immunization',
  'Location',
  'MedicationAdministration',
  'MedicationDispense',
  'MedicationRequest',
  'MedicationStatement',
  'Observation',
  'Organization',
  'Patient',
  'Practitioner',
  'PractitionerRole',
  'Procedure',
  'ServiceRequest',
  'Specimen',
]);

/** The most keys one shared search asks for (its `_count` is twice that). */
const MAX_KEYS_PER_SEARCH = 50;

/**
 * Lookups issued together (the conditional keys of one message — an ORU has a patient, a report
 * and six results — and of messages written concurrently) go to the repository as ONE `batch`
 * Bundle of searches instead of one HTTP request each: request count, not query cost, dominated.
 * Keys of one type are asked in one search (`Type?identifier=a|1,b|2…`, FHIR's "or") and the
 * answer is split by identifier here: each search is a database round trip on the other side,
 * and round trips are what a message's write costs most.
 * `send` posts the batch and returns its batch-response; each entry answers one search.
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
    const searches = groupSearches(taken);
    const batch: Bundle = {
      resourceType: 'Bundle',
      type: 'batch',
      entry: searches.map((s) => ({ request: { method: 'GET', url: s.url } })),
    };
    let response: Bundle;
    try {
      response = await send(batch);
    } catch (err) {
      for (const p of taken) p.reject(err);
      return;
    }
    searches.forEach((s, i) => {
      const entry = response.entry?.[i];
      const status = Number.parseInt(entry?.response?.status ?? '0', 10);
      if (!(status >= 200 && status < 300 && entry?.resource?.resourceType === 'Bundle')) {
        // Shaped like an HTTP client error, so the caller classifies it as it would a single GET.
        for (const p of s.pending)
          p.reject({ response: { status: status || 502, data: entry?.response?.outcome } });
        return;
      }
      const searchset = entry.resource as Bundle;
      if (s.pending.length === 1 && !s.shared) {
        s.pending[0]!.resolve(toMatches(s.pending[0]!.type, searchset));
        return;
      }
      if ((searchset.link ?? []).some((l) => l.relation === 'next')) {
        // More matches than asked for: some key matches several. Each is asked again on its own.
        for (const p of s.pending) enqueue({ ...p, alone: true });
        return;
      }
      for (const p of s.pending) {
        const own = (searchset.entry ?? []).filter((e) => hasIdentifier(e, p.key!));
        p.resolve(toMatches(p.type, { ...searchset, entry: own, total: own.length }));
      }
    });
  };
  const enqueue = (p: Pending) => {
    if (queue.length === 0) queueMicrotask(() => void flush());
    queue.push(p);
  };
  return (type, query) =>
    new Promise<CurrentMatch[]>((resolve, reject) => {
      const key = SHAREABLE.has(type) ? singleIdentifier(query) : undefined;
      enqueue({ type, query, resolve, reject, ...(key ? { key } : {}) });
    });
}

interface Search {
  url: string;
  pending: Pending[];
  shared: boolean;
}

/** One search per lookup, except that keys of one type share searches of up to 50 keys. */
function groupSearches(taken: Pending[]): Search[] {
  const searches: Search[] = [];
  const byType = new Map<string, Pending[]>();
  for (const p of taken) {
    if (p.key && !p.alone) {
      const list = byType.get(p.type);
      if (list) list.push(p);
      else byType.set(p.type, [p]);
    } else searches.push({ url: `${p.type}?${p.query}&_count=2`, pending: [p], shared: false });
  }
  for (const [type, list] of byType) {
    if (list.length === 1) {
      searches.push({ url: `${type}?${list[0]!.query}&_count=2`, pending: list, shared: false });
      continue;
    }
    for (let i = 0; i < list.length; i += MAX_KEYS_PER_SEARCH) {
      const part = list.slice(i, i + MAX_KEYS_PER_SEARCH);
      const values = part.map((p) => `${enc(p.key!.system)}|${enc(p.key!.value)}`).join(',');
      searches.push({
        url: `${type}?identifier=${values}&_count=${part.length * 2}`,
        pending: part,
        shared: true,
      });
    }
  }
  return searches;
}

/**
 * `identifier=system|value` and nothing else, with characters that mean something in a search
 * value (`,` `|` `$` `\`) in neither part: such a key can share a search.
 */
function singleIdentifier(query: string): { system: string; value: string } | undefined {
  // '+' reads as a space to some parsers and as itself to others: such a query goes as it came.
  if (query.includes('+')) return undefined;
  const params = [...new URLSearchParams(query)];
  if (params.length !== 1 || params[0]![0] !== 'identifier') return undefined;
  const v = params[0]![1];
  const bar = v.indexOf('|');
  if (bar <= 0) return undefined;
  const system = v.slice(0, bar);
  const value = v.slice(bar + 1);
  if (!value || /[,|$\\]/.test(system) || /[,|$\\]/.test(value)) return undefined;
  return { system, value };
}

function hasIdentifier(entry: BundleEntry, key: { system: string; value: string }): boolean {
  const ids = (entry.resource as { identifier?: { system?: string; value?: string }[] } | undefined)
    ?.identifier;
  return (ids ?? []).some((i) => i.system === key.system && i.value === key.value);
}

const enc = (s: string) => encodeURIComponent(s);
