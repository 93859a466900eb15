/** The error codes of RFC 6749 §5.2 that the token endpoint uses. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope';

const STATUS: Record<OAuthErrorCode, number> = {
  invalid_request: 400,
  // RFC 6749 allows 400 or 401; 401 tells a client its credentials, not its request, are at fault.
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
};

/** A refusal at `/auth/token`, rendered as `{ error, error_description }` (never an OperationOutcome). */
export class OAuthError extends Error {
  readonly status: number;
  constructor(
    readonly code: OAuthErrorCode,
    description: string,
  ) {
    super(description);
    this.name = 'OAuthError';
    this.status = STATUS[code];
  }

  get body(): { error: OAuthErrorCode; error_description: string } {
    // error_description is limited to printable ASCII without `"` and `\` (RFC 6749 §5.2).
    return {
      error: this.code,
      error_description: this.message.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '?'),
    };
  }
}
