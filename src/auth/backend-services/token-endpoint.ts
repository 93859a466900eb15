import express, { Router, type ErrorRequestHandler, type Request } from 'express';
import jwt from 'jsonwebtoken';
import { isConnectionError, type Queryable } from '../../db/database.ts';
import type { Logger } from '../../kernel/logger.ts';
import type { InstitutionRegistry } from '../../institutions/types.ts';
import { institutionClaims, issueToken } from '../issue-token.ts';
import type { SigningKey } from '../signing-key.ts';
import { ASSERTION_ALGS, createAssertionKeyResolver, type AssertionAlg } from './assertion-keys.ts';
import { JWT_BEARER } from './client-assertion.ts';
import { grantScopes } from './grant-scopes.ts';
import { createJtiStore } from './jti-store.ts';
import { OAuthError } from './oauth-error.ts';

/** Lifetime of the access tokens issued here (SMART: "should not exceed five minutes"). */
export const ACCESS_TOKEN_TTL = 300;
/** An assertion may not expire further ahead than this (SMART Backend Services). */
const MAX_ASSERTION_LIFETIME = 300;
/** Tolerated difference between the client's clock and ours, in seconds. */
const CLOCK_SKEW = 15;

export interface TokenEndpointParts {
  db: Queryable;
  registry: InstitutionRegistry;
  signingKey: SigningKey;
  publicUrl: string;
  logger: Logger;
}

/**
 * `POST /auth/token`: SMART Backend Services (client credentials with a `private_key_jwt`
 * assertion, RFC 7523) for member institutions. The client id is the institution id; the
 * answer is a local token of at most five minutes with the granted `system/` scopes.
 * Every refusal is an RFC 6749 §5.2 JSON error, never an OperationOutcome.
 */
export function tokenEndpoint(parts: TokenEndpointParts): Router {
  const { registry, signingKey, publicUrl, logger } = parts;
  const tokenUrl = `${publicUrl}/auth/token`;
  const keyFor = createAssertionKeyResolver();
  const jtis = createJtiStore(parts.db);
  const router = Router();

  router.post(
    '/auth/token',
    express.urlencoded({ extended: false, limit: '64kb', type: 'application/x-www-form-urlencoded' }),
    async (req, res, next) => {
      res.set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
      try {
        const form = readForm(req);
        const assertion = form.get('client_assertion') as string;
        const { clientId, jti, exp } = await authenticateClient(assertion, form.get('client_id'));
        const requested = form.get('scope') as string;
        const granted = grantScopes(requested);
        if (granted.length === 0)
          throw new OAuthError(
            'invalid_scope',
            `None of the requested scopes can be granted to ${clientId}; ask for system/ scopes such as system/*.cruds`,
          );
        // The jti is spent only once everything else passed, so a refused request can be fixed and retried.
        if (!(await jtis.firstUse(clientId, jti, exp + CLOCK_SKEW)))
          throw new OAuthError('invalid_client', 'The client assertion was already used (replayed jti)');
        const scope = granted.join(' ');
        const accessToken = await issueToken(
          signingKey,
          { ...institutionClaims(publicUrl, clientId), scope },
          ACCESS_TOKEN_TTL,
        );
        logger.info({ clientId, scope }, 'backend-services token issued');
        res
          .status(200)
          .json({ access_token: accessToken, token_type: 'bearer', expires_in: ACCESS_TOKEN_TTL, scope });
      } catch (err) {
        next(err);
      }
    },
  );

  /** Checks the assertion completely; returns the authenticated institution id, the assertion's jti and expiry. */
  async function authenticateClient(assertion: string, clientIdParam: string | undefined) {
    const decoded = jwt.decode(assertion, { complete: true });
    if (!decoded || typeof decoded.payload === 'string')
      throw new OAuthError('invalid_client', 'client_assertion is not a well-formed JWT');
    const { header, payload } = decoded;
    // Checked before any key is looked up: `none`, HS256 (a public key used as an HMAC secret)… never pass.
    if (!(ASSERTION_ALGS as readonly string[]).includes(header.alg))
      throw new OAuthError(
        'invalid_client',
        `client_assertion alg ${header.alg} is not accepted (RS384 or ES384)`,
      );
    const alg = header.alg as AssertionAlg;
    if (typeof header.kid !== 'string' || header.kid === '')
      throw new OAuthError('invalid_client', 'client_assertion header names no key (kid)');
    const iss = payload.iss;
    if (typeof iss !== 'string' || payload.sub !== iss)
      throw new OAuthError('invalid_client', 'client_assertion iss and sub must both be the client id');
    if (clientIdParam !== undefined && clientIdParam !== iss)
      throw new OAuthError('invalid_client', 'client_id does not match the assertion');
    const inst = await registry.get(iss);
    if (!inst) throw new OAuthError('invalid_client', `Unknown client ${iss.slice(0, 80)}`);
    if (!inst.active) throw new OAuthError('invalid_client', `Client ${iss} is disabled`);
    const key = await keyFor(inst, header.kid, alg);
    let verified: jwt.JwtPayload;
    try {
      verified = jwt.verify(assertion, key, {
        algorithms: [alg],
        issuer: iss,
        subject: iss,
        clockTolerance: CLOCK_SKEW,
      }) as jwt.JwtPayload;
    } catch (err) {
      throw new OAuthError('invalid_client', `client_assertion does not verify: ${(err as Error).message}`);
    }
    // `aud` exactly the token URL: jsonwebtoken would also take it as one member of an array.
    if (verified.aud !== tokenUrl)
      throw new OAuthError('invalid_client', `client_assertion aud must be ${tokenUrl}`);
    const now = Math.floor(Date.now() / 1000);
    if (typeof verified.exp !== 'number')
      throw new OAuthError('invalid_client', 'client_assertion has no exp');
    if (verified.exp > now + MAX_ASSERTION_LIFETIME + CLOCK_SKEW)
      throw new OAuthError(
        'invalid_client',
        `client_assertion exp is more than ${MAX_ASSERTION_LIFETIME} s ahead`,
      );
    if (typeof verified.jti !== 'string' || verified.jti === '' || verified.jti.length > 255)
      throw new OAuthError('invalid_client', 'client_assertion needs a jti (1 to 255 characters)');
    return { clientId: inst.id, jti: verified.jti, exp: verified.exp };
  }

  const onError: ErrorRequestHandler = (err, _req, res, _next) => {
    res.set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
    if (err instanceof OAuthError) {
      logger.info({ error: err.code, reason: err.message }, 'backend-services token refused');
      res.status(err.status).json(err.body);
      return;
    }
    // Body-parser errors (too large, bad encoding) carry an HTTP status of their own.
    const status = (err as { status?: unknown }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      res
        .status(status)
        .json({ error: 'invalid_request', error_description: 'The request body could not be read' });
      return;
    }
    if (isConnectionError(err)) {
      res.status(503).json({
        error: 'temporarily_unavailable',
        error_description: 'The registry is unreachable; retry later',
      });
      return;
    }
    logger.error({ err: (err as Error).message }, 'token endpoint failed');
    res.status(500).json({ error: 'server_error', error_description: 'Internal error' });
  };
  router.use('/auth/token', onError);
  return router;
}

/**
 * The form parameters, each present at most once (RFC 6749 §3.2). Throws the RFC 6749 error for
 * a missing or unsupported grant type, assertion type or scope.
 */
function readForm(req: Request): Map<string, string> {
  if (!req.is('application/x-www-form-urlencoded'))
    throw new OAuthError('invalid_request', 'The body must be application/x-www-form-urlencoded');
  const body = (req.body ?? {}) as Record<string, unknown>;
  const form = new Map<string, string>();
  for (const [name, value] of Object.entries(body)) {
    if (typeof value !== 'string') throw new OAuthError('invalid_request', `Parameter ${name} is repeated`);
    form.set(name, value);
  }
  const grant = form.get('grant_type');
  if (grant === undefined) throw new OAuthError('invalid_request', 'grant_type is required');
  if (grant !== 'client_credentials')
    throw new OAuthError('unsupported_grant_type', 'Only grant_type=client_credentials is supported');
  const assertionType = form.get('client_assertion_type');
  if (assertionType !== JWT_BEARER)
    throw new OAuthError('invalid_request', `client_assertion_type must be ${JWT_BEARER}`);
  if (!form.get('client_assertion')) throw new OAuthError('invalid_request', 'client_assertion is required');
  if (!form.get('scope')) throw new OAuthError('invalid_request', 'scope is required');
  return form;
}
