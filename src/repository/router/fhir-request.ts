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
}

export interface FhirResponse {
  status: number;
  headers: Record<string, string>;
  /** JSON text; absent for 204 or `Prefer: return=minimal`. */
  body?: string;
}

/** An interaction the router is about to perform, for the access check (SMART scopes, policy). */
export type Interaction =
  'create' | 'read' | 'vread' | 'update' | 'patch' | 'delete' | 'history' | 'search' | 'operation';

/**
 * Called before every interaction; throws an OperationOutcomeError (401/403) to refuse.
 * `resourceType` is undefined for system-level interactions.
 */
export type Authorize = (resourceType: string | undefined, interaction: Interaction) => void;
