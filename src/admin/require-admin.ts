import type { RequestHandler } from 'express';
import type { AuthContext } from '../auth/verify-token.ts';
import { forbidden, unauthorized } from '../kernel/outcomes.ts';

/**
 * Administrators only. The app's `authenticate` already answers 401 to a request without a token;
 * the check here is repeated so that a router mounted on an anonymous path can never leak.
 */
export function requireAdmin(what: string): RequestHandler {
  return (_req, res, next) => {
    const auth = res.locals.auth as AuthContext | undefined;
    if (!auth) return next(unauthorized('A bearer token is required', 'Bearer realm="county-hie"'));
    if (!auth.roles.has('admin'))
      return next(forbidden(`${what} is for administrators (a token with the admin role)`));
    next();
  };
}
