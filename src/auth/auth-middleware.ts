import type { Request, RequestHandler } from 'express';
import { unauthorized } from '../kernel/outcomes.ts';
import type { TokenVerifier } from './verify-token.ts';

/**
 * Authenticates every request by its `Authorization: Bearer …` header and puts the resulting
 * `AuthContext` on `res.locals.auth`. Errors go to `next()`, so the app's one error handler
 * renders them as OperationOutcomes with their WWW-Authenticate header.
 *
 * Anonymous routes never fail here: a valid token still sets `res.locals.auth` (so handlers can
 * tell who asked), but an invalid or stale one is ignored, because the route needs none and a
 * client with an old token should still be able to read `/fhir/metadata` or the SMART document.
 */
export function authenticate(
  verifier: TokenVerifier,
  opts: { anonymous: (req: Request) => boolean },
): RequestHandler {
  return async (req, res, next) => {
    const anonymous = opts.anonymous(req);
    const token = bearerToken(req.headers.authorization);
    if (token === undefined) {
      if (anonymous) return next();
      return next(unauthorized('A bearer token is required', 'Bearer realm="county-hie"'));
    }
    try {
      res.locals.auth = await verifier.verify(token);
    } catch (err) {
      if (!anonymous) return next(err);
    }
    next();
  };
}

/** The token of a Bearer credential (scheme case-insensitive, RFC 7235 §2.1); anything else counts as none. */
function bearerToken(header: string | undefined): string | undefined {
  const m = header === undefined ? null : /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(header);
  return m?.[1];
}
