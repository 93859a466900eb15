import type { VisibleIf } from '../search/types.ts';

/**
 * The FHIR router's own request and response: plain data, no Express. The HTTP adapter
 * fills these in, so the router can be called from a Bundle, a test, or another transport.
 */
export interface FhirRequest {
  method: string;
  /** Path segments after the FHIR base, e.g. ['Patient', '123', '_history', '2']. */
  path: string[];
  /** Query pairs in order, URL-decoded (plus form fields of `POST _search`). */
  query: [string, string][];
  /** Lower-cased header names. */
  headers: Record<string, string | undefined>;
  /** Parsed JSON body (may hold LosslessNumbers), or undefined. */
  body?: unknown;
  /** Absolute URL of the request without its query string. */
  requestUrl: string;
  /** What the access policy lets this request see and change; absent = everything. */
  access?: RequestAccess;
}

/**
 * The access policy as the repository needs it, decided per request by the serving side
 * (src/access). The repository applies it at every place a resource could show: searches and
 * their includes, chains and `_has`, totals, conditional matches, reads, history, Bundle entries.
 */
export interface RequestAccess {
  /** Row predicate for searches, includes, chains, `_has`, totals and conditional matches. */
  visibleIf?: VisibleIf;
  /** Before read, vread and instance history: throws 403 when the resource is hidden OR absent. */
  assertReadable(resourceType: string, id: string): Promise<void>;
  /** Before vread (that version) and instance history (every version): 403 when a version shown is hidden. */
  assertVersionsReadable(resourceType: string, id: string, version?: number): Promise<void>;
  /** Before update, patch and delete by id: throws 403 when the resource exists and is hidden. */
  assertWritable(resourceType: string, id: string): Promise<void>;
  /** A resource about to be created or updated: the policy may stamp it or refuse it (throws). */
  prepareWrite(resource: Record<string, any>): void;
  /** History across resources (`/_history`, `/Type/_history`): throws 403 when not allowed. */
  assertHistoryAcrossResources(): void;
}

export interface FhirResponse {
  status: number;
  headers: Record<string, string>;
  /** JSON text; absent for 204 or `Prefer: return=minimal`. */
  body?: string;
  /**
   * The same body gzip-compressed, already made (a kept summary), for a client whose
   * `Accept-Encoding` allows gzip; the HTTP adapter then sends it with `Content-Encoding: gzip`.
   */
  gzipped?: Buffer;
  /** What the AuditEvent of this answer should name (the audit middleware's hints). */
  audit?: { person?: string; patients?: string[] };
}

/** An interaction the router is about to perform, for the access check (SMART scopes, policy). */
export type Interaction =
  'create' | 'read' | 'vread' | 'update' | 'patch' | 'delete' | 'history' | 'search' | 'operation';

/**
 * Called before every interaction; throws an OperationOutcomeError (401/403) to refuse.
 * `resourceType` is undefined for system-level interactions.
 */
export type Authorize = (resourceType: string | undefined, interaction: Interaction) => void;
