import type { OperationOutcome } from 'fhir/r4';
import type { Queryable } from '../../db/database.ts';
import { type OperationOutcomeError, badRequest } from '../../kernel/outcomes.ts';
import { search, searchResultToBundle, type VisibleIf } from '../search/index.ts';
import { etagFor, parseIfMatch } from '../store/etag.ts';
import type { FhirRepository, WriteOptions } from '../store/fhir-repository.ts';
import type { LocalReference } from '../store/references.ts';
import type { PrefetchedCurrent } from '../store/read.ts';
import type { PendingWrites } from '../store/write-version.ts';
import type { StoredResource } from '../types.ts';
import type { EntryRequest } from './entry-request.ts';

/** What one entry did, before it is written into the response Bundle. */
export interface EntryResult {
  status: number;
  stored?: StoredResource;
  /** JSON text of a GET entry's answer (a resource or a searchset Bundle). */
  body?: string;
  outcome?: OperationOutcome;
}

const STATUS_TEXT: Record<number, string> = { 200: '200 OK', 201: '201 Created', 204: '204 No Content' };

/** Runs one entry inside the given database transaction. */
export async function executeEntry(
  repo: FhirRepository,
  q: Queryable,
  req: EntryRequest,
  entry: any,
  index: number,
  deferred: LocalReference[] | undefined,
  visibleIf?: VisibleIf,
  prefetched?: PrefetchedCurrent,
  pendingWrites?: PendingWrites,
): Promise<EntryResult> {
  const opts: WriteOptions = { tx: q, pathPrefix: `Bundle.entry[${index}].resource` };
  if (prefetched) opts.prefetched = prefetched;
  if (pendingWrites) opts.pendingWrites = pendingWrites;
  if (visibleIf) opts.visibleIf = visibleIf;
  if (deferred) opts.deferredReferences = deferred;
  if (req.ifMatch) opts.ifMatch = parseIfMatch(req.ifMatch);
  const resource = entry.resource;
  switch (req.method) {
    case 'POST':
      return repo.create(requireBody(resource, req, index), req.ifNoneExist, opts);
    case 'PUT':
      if (req.id) return repo.update(req.resourceType, req.id, requireBody(resource, req, index), opts);
      return repo.conditionalUpdate(
        req.resourceType,
        req.criteria ?? [],
        requireBody(resource, req, index),
        opts,
      );
    case 'PATCH':
      if (!req.id)
        throw badRequest(`Bundle.entry[${index}]: PATCH needs Type/id`, `Bundle.entry[${index}].request.url`);
      return repo.patch(req.resourceType, req.id, patchBody(resource, index), opts);
    case 'DELETE':
      if (req.id) {
        const deleted = await repo.delete(req.resourceType, req.id, opts);
        return deleted ? { status: 204, stored: deleted } : { status: 204 };
      }
      await repo.conditionalDelete(req.resourceType, req.criteria ?? [], opts);
      return { status: 204 };
    case 'GET': {
      if (req.id) return { status: 200, stored: await repo.read(req.resourceType, req.id, q) };
      const result = await search(q, repo.model, {
        resourceType: req.resourceType,
        params: req.criteria ?? [],
        strict: false,
        baseUrl: repo.baseUrl,
        ...(visibleIf ? { visibleIf } : {}),
      });
      return { status: 200, body: searchResultToBundle(result, repo.baseUrl) };
    }
  }
}

function requireBody(resource: unknown, req: EntryRequest, index: number): Record<string, any> {
  const r = resource as Record<string, any> | undefined;
  if (!r || typeof r !== 'object' || r.resourceType !== req.resourceType) {
    throw badRequest(
      `Bundle.entry[${index}].resource must be a ${req.resourceType}`,
      `Bundle.entry[${index}].resource`,
      'HIE-BUNDLE-006',
    );
  }
  return r;
}

/** In a Bundle a JSON Patch travels as a Binary (R4 §3.1.0.7.1). */
function patchBody(resource: any, index: number): unknown {
  if (resource?.resourceType === 'Binary' && /json-patch/.test(resource.contentType ?? '') && resource.data) {
    try {
      return JSON.parse(Buffer.from(resource.data, 'base64').toString('utf8'));
    } catch {
      throw badRequest(
        `Bundle.entry[${index}]: the Binary does not hold JSON`,
        `Bundle.entry[${index}].resource.data`,
      );
    }
  }
  throw badRequest(
    `Bundle.entry[${index}]: a PATCH entry carries a Binary with contentType application/json-patch+json`,
    `Bundle.entry[${index}].resource`,
  );
}

export function entryResponse(r: EntryResult, baseUrl: string, minimal: boolean): string {
  const response: Record<string, unknown> = { status: STATUS_TEXT[r.status] ?? String(r.status) };
  const s = r.stored;
  if (s && !s.deleted) {
    response.location = `${baseUrl}/${s.resourceType}/${s.id}/_history/${s.versionId}`;
    response.etag = etagFor(s.versionId);
    response.lastModified = s.lastUpdated;
  }
  if (r.outcome) response.outcome = r.outcome;
  const parts: string[] = [];
  if (s && !s.deleted) parts.push(`"fullUrl":${JSON.stringify(`${baseUrl}/${s.resourceType}/${s.id}`)}`);
  const body = r.body ?? (s && !s.deleted ? s.json : undefined);
  if (body && !minimal) parts.push(`"resource":${body}`);
  parts.push(`"response":${JSON.stringify(response)}`);
  return `{${parts.join(',')}}`;
}

export function errorEntry(err: OperationOutcomeError): EntryResult {
  return { status: err.status, outcome: err.outcome };
}
