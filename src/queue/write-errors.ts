import type { OperationOutcome } from 'fhir/r4';
import { issue, outcome } from '../kernel/outcomes.ts';

/**
 * Why a write did not happen. `transient` errors are retried through BullMQ (the repository or
 * the network will recover); `permanent` ones fail the message at once, keeping the server's
 * OperationOutcome for the failed list.
 *
 * The `message` holds a stable code and the HTTP status only: it is what BullMQ stores in Redis
 * as the job's failure reason, and the server's diagnostics may quote a patient's name.
 */
export class WriteError extends Error {
  constructor(
    readonly kind: 'transient' | 'permanent',
    readonly code: string,
    readonly status: number | undefined,
    readonly outcome: OperationOutcome,
    /** The request never reached a server (refused, no such host): no fault of the message. */
    readonly unreached = false,
  ) {
    super(status === undefined ? code : `${code} (HTTP ${status})`);
    this.name = 'WriteError';
  }
}

/** HTTP statuses that say "this message, as it is, will never be accepted". */
const PERMANENT = new Set([400, 404, 405, 409, 410, 413, 422]);

/** The shape of a fhir-kit-client failure: a fetch error, or `response` with status and body. */
interface ClientError {
  response?: { status?: number; data?: unknown };
  name?: string;
  /** fetch's TypeError carries the socket error (or an AggregateError of several) here. */
  cause?: { code?: string; errors?: { code?: string }[] };
}

/**
 * Socket errors raised before any byte of the request left: the repository is down or not yet
 * listening, or its name does not resolve. A reset or a timeout is not among them: the request
 * may have reached the server, and a message that crashes or stalls it must still run out of
 * attempts.
 */
const NOT_REACHED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

export function neverReached(err: unknown): boolean {
  const cause = (err as ClientError)?.cause;
  if (cause?.code) return NOT_REACHED.has(cause.code);
  // Several addresses tried (localhost → ::1, 127.0.0.1): reached only if one of them answered.
  const codes = (cause?.errors ?? []).map((e) => e.code);
  return codes.length > 0 && codes.every((c) => c !== undefined && NOT_REACHED.has(c));
}

/** Sorts a failed request to the repository into transient or permanent. */
export function classifyRequestError(err: unknown): WriteError {
  if (err instanceof WriteError) return err;
  const status = (err as ClientError)?.response?.status;
  if (typeof status !== 'number') {
    // fetch failed (refused, reset, DNS) or our own timeout aborted it.
    return new WriteError(
      'transient',
      'HIE-WRITE-UNREACHABLE',
      undefined,
      outcome(
        issue({
          severity: 'error',
          code: 'transient',
          diagnostics: 'The FHIR repository could not be reached',
          hieCode: 'HIE-WRITE-UNREACHABLE',
        }),
      ),
      neverReached(err),
    );
  }
  const data = (err as ClientError).response?.data as { resourceType?: string } | undefined;
  const serverOutcome = data?.resourceType === 'OperationOutcome' ? (data as OperationOutcome) : undefined;
  if (PERMANENT.has(status)) {
    return new WriteError(
      'permanent',
      'HIE-WRITE-REJECTED',
      status,
      serverOutcome ??
        outcome(
          issue({
            code: 'processing',
            diagnostics: `The FHIR repository refused the write (HTTP ${status})`,
            hieCode: 'HIE-WRITE-REJECTED',
          }),
        ),
    );
  }
  // 5xx, 429, 401/403 (a token or key problem of ours, not of the message), 412 handled by the caller.
  return new WriteError(
    'transient',
    status === 412 ? 'HIE-WRITE-CONFLICT' : 'HIE-WRITE-RETRY',
    status,
    serverOutcome ??
      outcome(
        issue({
          code: 'transient',
          diagnostics: `The FHIR repository answered HTTP ${status}`,
          hieCode: 'HIE-WRITE-RETRY',
        }),
      ),
  );
}

/** True for the 412 that a versioned update gets when someone wrote in between. */
export function isPreconditionFailed(err: unknown): boolean {
  return (err as ClientError)?.response?.status === 412;
}
