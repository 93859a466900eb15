import { badRequest } from '../../kernel/outcomes.ts';
import type { FhirModel } from '../fhir-model.ts';

export type EntryMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** A Bundle entry's `request`, read into its parts. */
export interface EntryRequest {
  method: EntryMethod;
  resourceType: string;
  id?: string;
  /** Search criteria for conditional PUT/DELETE and for GET searches. */
  criteria?: [string, string][];
  ifNoneExist?: [string, string][];
  ifMatch?: string;
}

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

export function parseEntryRequest(model: FhirModel, entry: any, index: number): EntryRequest {
  const where = `Bundle.entry[${index}].request`;
  const req = entry?.request;
  if (!req || typeof req !== 'object') throw badRequest(`${where} is missing`, where, 'HIE-BUNDLE-003');
  if (!METHODS.has(req.method))
    throw badRequest(`${where}.method must be one of ${[...METHODS].join(', ')}`, `${where}.method`);
  if (typeof req.url !== 'string' || req.url === '')
    throw badRequest(`${where}.url is missing`, `${where}.url`);
  const [path, query] = splitUrl(req.url);
  const [resourceType, id, ...rest] = path.split('/');
  if (!resourceType || !model.isResourceType(resourceType) || rest.length > 0) {
    throw badRequest(
      `${where}.url "${req.url}" does not name a resource type or instance`,
      `${where}.url`,
      'HIE-BUNDLE-004',
    );
  }
  const out: EntryRequest = { method: req.method, resourceType };
  if (id) out.id = id;
  if (query !== undefined) out.criteria = [...new URLSearchParams(query).entries()];
  if (typeof req.ifNoneExist === 'string') {
    const q = req.ifNoneExist.replace(new RegExp(`^(${resourceType})?\\?`), '');
    out.ifNoneExist = [...new URLSearchParams(q).entries()];
  }
  if (typeof req.ifMatch === 'string') out.ifMatch = req.ifMatch;
  return out;
}

function splitUrl(url: string): [string, string | undefined] {
  const i = url.indexOf('?');
  const path = (i < 0 ? url : url.slice(0, i)).replace(/^\/+/, '');
  return [path, i < 0 ? undefined : url.slice(i + 1)];
}
