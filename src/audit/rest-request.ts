import type { RestInteraction } from './audit-event.ts';

/** What a `/fhir` request asked for, read from its path and query alone. */
export interface RestRequestFacts {
  interaction: RestInteraction;
  resourceType?: string;
  /** `Type/id` when the URL names one record. */
  record?: string;
  operation?: string;
}

const TYPE = /^[A-Z][A-Za-z]+$/;
const ID = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * The RESTful interaction of a request under `/fhir` (path segments after the base), or
 * undefined for what is not about records: the CapabilityStatement and the SMART document.
 */
export function restRequestFacts(method: string, segments: readonly string[]): RestRequestFacts | undefined {
  const [first, second, third, fourth] = segments;
  const m = method === 'HEAD' ? 'GET' : method;
  if (first === undefined) {
    if (m === 'GET') return { interaction: 'search-system' };
    return m === 'POST' ? { interaction: 'transaction' } : undefined;
  }
  if (first === 'metadata' || first === '.well-known') return undefined;
  if (first === '_history') return { interaction: 'history-system' };
  if (first.startsWith('$')) return { interaction: 'operation', operation: first };
  if (!TYPE.test(first)) return undefined;
  const resourceType = first;
  if (second === undefined) {
    if (m === 'GET') return { interaction: 'search-type', resourceType };
    if (m === 'POST') return { interaction: 'create', resourceType };
    if (m === 'PUT') return { interaction: 'update', resourceType };
    if (m === 'PATCH') return { interaction: 'patch', resourceType };
    return m === 'DELETE' ? { interaction: 'delete', resourceType } : undefined;
  }
  if (second === '_search') return { interaction: 'search-type', resourceType };
  if (second === '_history') return { interaction: 'history-type', resourceType };
  if (second.startsWith('$')) return { interaction: 'operation', resourceType, operation: second };
  if (!ID.test(second)) return undefined;
  const record = `${resourceType}/${second}`;
  if (third === undefined) {
    const byMethod: Record<string, RestInteraction> = {
      GET: 'read',
      PUT: 'update',
      PATCH: 'patch',
      DELETE: 'delete',
    };
    const interaction = byMethod[m];
    return interaction ? { interaction, resourceType, record } : undefined;
  }
  if (third === '_history')
    return { interaction: fourth === undefined ? 'history-instance' : 'vread', resourceType, record };
  if (third.startsWith('$')) return { interaction: 'operation', resourceType, record, operation: third };
  return undefined;
}

/** Reference-valued search parameters that name the patient of what is searched. */
const PATIENT_PARAMS = /^(patient|subject|beneficiary)(:Patient)?$/;

/**
 * Patients a request names in its query: `patient=`, `subject=Patient/…`, and `_id` on a
 * Patient search. Plain ids of `subject` are ambiguous (a Group, a Device) and left out.
 */
export function patientsInQuery(
  resourceType: string | undefined,
  query: readonly [string, string][],
): string[] {
  const out: string[] = [];
  for (const [key, raw] of query) {
    const byId = resourceType === 'Patient' && key === '_id';
    const param = PATIENT_PARAMS.exec(key);
    if (!byId && !param) continue;
    for (const value of raw.split(',')) {
      const ref = /(?:^|\/)Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(value)?.[1];
      const bare = ID.test(value) && (byId || param?.[1] === 'patient' || param?.[2] !== undefined);
      if (ref) out.push(`Patient/${ref}`);
      else if (bare) out.push(`Patient/${value}`);
    }
  }
  return out;
}

/** References to Patients in a JSON answer (a Bundle's fullUrls and subjects, a record's subject). */
const PATIENT_REF = /["/]Patient\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?"/g;

/**
 * Patients an answer is about, found by scanning its text rather than parsing it: a Bundle of a
 * thousand entries costs one regular-expression pass. At most `limit` distinct ids.
 */
export function patientsInBody(text: string, limit: number): string[] {
  const found = new Set<string>();
  for (const m of text.matchAll(PATIENT_REF)) {
    found.add(`Patient/${m[1]}`);
    if (found.size >= limit) break;
  }
  return [...found];
}
