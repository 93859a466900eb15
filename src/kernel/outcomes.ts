import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4';

/**
 * OperationOutcome is the one error currency of the system: every stage throws
 * `OperationOutcomeError`, and one handler per transport turns it into HTTP (or an HL7 ACK).
 */
export type IssueSeverity = OperationOutcomeIssue['severity'];
export type IssueCode = OperationOutcomeIssue['code'];

export interface IssueInput {
  severity?: IssueSeverity;
  code: IssueCode;
  diagnostics: string;
  /** FHIRPath of the element at fault, e.g. `Patient.birthDate`. */
  expression?: string | string[];
  /** Stable error code from `error-codes.ts`, carried as `details.coding`. */
  hieCode?: string;
}

export const HIE_ERROR_SYSTEM = 'https://county-hie.org/fhir/CodeSystem/error';

export function issue(input: IssueInput): OperationOutcomeIssue {
  const out: OperationOutcomeIssue = {
    severity: input.severity ?? 'error',
    code: input.code,
    diagnostics: input.diagnostics,
  };
  if (input.hieCode) out.details = { coding: [{ system: HIE_ERROR_SYSTEM, code: input.hieCode }] };
  if (input.expression !== undefined) {
    out.expression = Array.isArray(input.expression) ? input.expression : [input.expression];
  }
  return out;
}

export function outcome(...issues: OperationOutcomeIssue[]): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: issues };
}

export function informational(diagnostics: string): OperationOutcome {
  return outcome(issue({ severity: 'information', code: 'informational', diagnostics }));
}

export class OperationOutcomeError extends Error {
  constructor(
    readonly status: number,
    readonly outcome: OperationOutcome,
    readonly headers: Record<string, string> = {},
  ) {
    super(outcome.issue.map((i) => i.diagnostics ?? i.code).join('; '));
    this.name = 'OperationOutcomeError';
  }
}

/** Builds an error with a single issue; the common case. */
export function fail(
  status: number,
  input: IssueInput,
  headers?: Record<string, string>,
): OperationOutcomeError {
  return new OperationOutcomeError(status, outcome(issue(input)), headers);
}

export const badRequest = (diagnostics: string, expression?: string, hieCode?: string) =>
  fail(400, {
    code: 'invalid',
    diagnostics,
    ...(expression ? { expression } : {}),
    ...(hieCode ? { hieCode } : {}),
  });

export const unprocessable = (diagnostics: string, expression?: string, hieCode?: string) =>
  fail(422, {
    code: 'processing',
    diagnostics,
    ...(expression ? { expression } : {}),
    ...(hieCode ? { hieCode } : {}),
  });

export const notFound = (diagnostics: string) => fail(404, { code: 'not-found', diagnostics });

export const gone = (diagnostics: string) => fail(410, { code: 'deleted', diagnostics });

export const conflict = (diagnostics: string) => fail(409, { code: 'conflict', diagnostics });

export const preconditionFailed = (diagnostics: string) => fail(412, { code: 'conflict', diagnostics });

export const unauthorized = (diagnostics: string, wwwAuthenticate: string) =>
  fail(401, { code: 'login', diagnostics }, { 'WWW-Authenticate': wwwAuthenticate });

export const forbidden = (diagnostics: string) => fail(403, { code: 'forbidden', diagnostics });

export const notSupported = (diagnostics: string, status = 400) =>
  fail(status, { code: 'not-supported', diagnostics });

/** True when any issue is an error or fatal. */
export function hasErrors(o: OperationOutcome): boolean {
  return o.issue.some((i) => i.severity === 'error' || i.severity === 'fatal');
}

/**
 * PostgreSQL refusing a text value: `22021` for a NUL (U+0000), the one character a JavaScript
 * string can hold and PostgreSQL text cannot. A value the client sent reached a query unchecked
 * (an `If-None-Exist` header, a Bundle entry's URL); it is the request's fault, not the server's.
 */
export function isUnstorableText(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === '22021' || code === '22P05';
}

export const unstorableText = () =>
  fail(400, {
    code: 'invalid',
    diagnostics:
      'A value of the request holds a NUL character (U+0000); no id, identifier or search value may contain one',
    hieCode: 'HIE-HTTP-005',
  });

/** Turns anything thrown into an OperationOutcomeError without leaking internals to the client. */
export function toOperationOutcomeError(err: unknown): OperationOutcomeError {
  if (err instanceof OperationOutcomeError) return err;
  if (isUnstorableText(err)) return unstorableText();
  return fail(500, { severity: 'fatal', code: 'exception', diagnostics: 'Internal server error' });
}
