import type { OperationOutcome } from 'fhir/r4';
import { informational } from '../../kernel/outcomes.ts';
import type { StoredResource } from '../types.ts';
import { etagFor } from '../store/etag.ts';
import type { FhirResponse } from './fhir-request.ts';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

export function versionHeaders(s: StoredResource): Record<string, string> {
  return { ETag: etagFor(s.versionId), 'Last-Modified': new Date(s.lastUpdated).toUTCString() };
}

export function resourceResponse(status: number, s: StoredResource): FhirResponse {
  return { status, headers: { 'Content-Type': FHIR_JSON, ...versionHeaders(s) }, body: s.json ?? undefined };
}

/** Reads `Prefer: return=…` (RFC 7240) — FHIR's minimal / representation / OperationOutcome. */
export function preferredReturn(
  prefer: string | undefined,
): 'minimal' | 'representation' | 'OperationOutcome' {
  const m = /return\s*=\s*"?(minimal|representation|OperationOutcome)"?/i.exec(prefer ?? '');
  const v = m?.[1]?.toLowerCase();
  return v === 'minimal' ? 'minimal' : v === 'operationoutcome' ? 'OperationOutcome' : 'representation';
}

export function preferStrict(prefer: string | undefined): boolean {
  return /handling\s*=\s*"?strict"?/i.test(prefer ?? '');
}

/** The answer to a create/update/patch, shaped by `Prefer: return`. */
export function writeResponse(
  status: number,
  s: StoredResource,
  baseUrl: string,
  prefer: string | undefined,
  note?: OperationOutcome,
): FhirResponse {
  const headers: Record<string, string> = {
    ...versionHeaders(s),
    Location: `${baseUrl}/${s.resourceType}/${s.id}/_history/${s.versionId}`,
  };
  const mode = preferredReturn(prefer);
  if (mode === 'minimal') return { status, headers };
  headers['Content-Type'] = FHIR_JSON;
  if (mode === 'OperationOutcome') {
    const o = note ?? informational(`${s.resourceType}/${s.id} version ${s.versionId} stored`);
    return { status, headers, body: JSON.stringify(o) };
  }
  return { status, headers, body: s.json ?? undefined };
}

export function jsonResponse(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): FhirResponse {
  return {
    status,
    headers: { 'Content-Type': FHIR_JSON, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  };
}

/**
 * Whether an `Accept-Encoding` header (RFC 9110 §12.5.3) allows gzip: named (or `*`) with a
 * non-zero weight, and not refused by its own `gzip;q=0` when `*` allows it.
 */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  const weights = new Map<string, number>();
  for (const part of header.split(',')) {
    const [name = '', ...params] = part.split(';').map((x) => x.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    const weight = q ? Number(q.slice(2)) : 1;
    if (name) weights.set(name, Number.isFinite(weight) ? weight : 0);
  }
  const gzip = weights.get('gzip') ?? weights.get('x-gzip') ?? weights.get('*');
  return gzip !== undefined && gzip > 0;
}
