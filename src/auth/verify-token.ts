import type { KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import jwksRsa from 'jwks-rsa';
import type { TrustedIssuer } from '../config/load-config.ts';
import { OperationOutcomeError, unauthorized } from '../kernel/outcomes.ts';
import { ROLES, type Role } from './issue-token.ts';
import { parseScopes, type Scope } from './scopes.ts';
import type { SigningKey } from './signing-key.ts';

/** Who is calling and what their token allows; set on `res.locals.auth` by the middleware. */
export interface AuthContext {
  issuer: string;
  subject: string;
  scopes: Scope[];
  roles: Set<Role>;
  institution?: string;
  fhirUser?: string;
  patient?: string;
  claims: Record<string, unknown>;
}

export interface TokenVerifier {
  verify(token: string): Promise<AuthContext>;
}

/** Algorithms an external issuer may use: asymmetric ones only, so a public key never doubles as an HMAC secret. */
const ASYMMETRIC = /^(RS|PS|ES)(256|384|512)$/;

/** Local tokens are checked against our key; others against the JWKS of the issuer they name. */
interface IssuerCheck {
  issuer: string;
  audience: string;
  algorithms: jwt.Algorithm[];
  key(kid: string | undefined): Promise<KeyObject | string>;
}

/**
 * Builds the one verifier of bearer tokens. The issuer is read from the unverified payload only
 * to choose the key and rules; the signature check then also requires that same `iss`.
 */
export function createTokenVerifier(opts: {
  publicUrl: string;
  signingKey: SigningKey;
  trustedIssuers: TrustedIssuer[];
}): TokenVerifier {
  const local: IssuerCheck = {
    issuer: opts.publicUrl,
    audience: `${opts.publicUrl}/fhir`,
    algorithms: ['ES256'],
    key: async () => opts.signingKey.publicKey,
  };
  const external = new Map<string, IssuerCheck>();
  for (const t of opts.trustedIssuers) {
    // First entry wins, and our own issuer name can never be taken over by configuration.
    if (t.issuer === opts.publicUrl || external.has(t.issuer)) continue;
    const client = jwksRsa({
      jwksUri: t.jwksUri,
      cache: true,
      rateLimit: true,
      jwksRequestsPerMinute: 10,
      timeout: 5000,
    });
    external.set(t.issuer, {
      issuer: t.issuer,
      audience: t.audience,
      algorithms: t.algorithms.filter((a) => ASYMMETRIC.test(a)) as jwt.Algorithm[],
      key: async (kid) => {
        try {
          return (await client.getSigningKey(kid)).getPublicKey();
        } catch (err) {
          throw invalid(`No usable signing key from ${t.issuer}: ${(err as Error).message}`);
        }
      },
    });
  }

  // A verified token is verified until it expires: the worker and busy institutions send the
  // same token thousands of times, and a signature check per request cost ~6 % of the CPU.
  // Keyed by the whole token text; entries leave at `exp` (and the map is bounded).
  const verified = new Map<string, { auth: AuthContext; expiresAtMs: number }>();
  const MAX_CACHED = 10_000;

  return {
    async verify(token) {
      const hit = verified.get(token);
      if (hit) {
        if (hit.expiresAtMs > Date.now()) return hit.auth;
        verified.delete(token);
      }
      const auth = await verifyOnce(token);
      const exp = typeof auth.claims.exp === 'number' ? auth.claims.exp * 1000 : 0;
      if (verified.size >= MAX_CACHED) verified.delete(verified.keys().next().value!);
      verified.set(token, { auth, expiresAtMs: exp });
      return auth;
    },
  };

  async function verifyOnce(token: string): Promise<AuthContext> {
    {
      const decoded = jwt.decode(token, { complete: true });
      if (!decoded || typeof decoded.payload === 'string')
        throw invalid('The token is not a well-formed JWT');
      const iss = decoded.payload.iss;
      if (typeof iss !== 'string') throw invalid('The token names no issuer (iss)');
      const check = iss === local.issuer ? local : external.get(iss);
      if (!check) throw invalid(`The token's issuer is not trusted: ${iss.slice(0, 200)}`);
      // Refuse early (before any JWKS fetch) what the verification below would refuse anyway.
      if (!(check.algorithms as string[]).includes(decoded.header.alg)) {
        throw invalid(`The token's algorithm ${decoded.header.alg} is not accepted for ${iss}`);
      }
      const key = await check.key(decoded.header.kid);
      let payload: jwt.JwtPayload;
      try {
        payload = jwt.verify(token, key, {
          algorithms: check.algorithms,
          issuer: check.issuer,
          audience: check.audience,
          clockTolerance: 30,
        }) as jwt.JwtPayload;
      } catch (err) {
        throw invalid(reason(err));
      }
      // A token that never expires cannot be revoked; refuse it.
      if (typeof payload.exp !== 'number') throw invalid('The token has no expiry (exp)');
      if (typeof payload.sub !== 'string' || payload.sub === '')
        throw invalid('The token names no subject (sub)');
      return toAuthContext(iss, payload);
    }
  }
}

function toAuthContext(issuer: string, payload: jwt.JwtPayload): AuthContext {
  const claims = payload as Record<string, unknown>;
  const rawScope = claims.scope;
  const scopeText =
    typeof rawScope === 'string' ? rawScope : Array.isArray(rawScope) ? rawScope.join(' ') : '';
  const rawRoles = Array.isArray(claims.hie_roles) ? claims.hie_roles : [];
  const auth: AuthContext = {
    issuer,
    subject: payload.sub as string,
    scopes: parseScopes(scopeText),
    roles: new Set(rawRoles.filter((r): r is Role => (ROLES as readonly unknown[]).includes(r))),
    claims,
  };
  if (typeof claims.hie_institution === 'string') auth.institution = claims.hie_institution;
  if (typeof claims.fhirUser === 'string') auth.fhirUser = claims.fhirUser;
  if (typeof claims.patient === 'string') auth.patient = claims.patient;
  return auth;
}

/** Plain-language reasons for jsonwebtoken's errors (its messages are terse). */
function reason(err: unknown): string {
  if (err instanceof jwt.TokenExpiredError) return `The token expired at ${err.expiredAt.toISOString()}`;
  if (err instanceof jwt.NotBeforeError) return 'The token is not valid yet (nbf)';
  const message = err instanceof Error ? err.message : String(err);
  if (message.startsWith('jwt audience invalid')) return 'The token is meant for another audience (aud)';
  if (message.startsWith('jwt issuer invalid')) return 'The token names another issuer (iss)';
  if (message === 'invalid signature') return 'The token signature does not verify';
  if (message === 'invalid algorithm') return 'The token is signed with an algorithm that is not accepted';
  return `The token is invalid: ${message}`;
}

/**
 * A 401 whose WWW-Authenticate follows RFC 6750 §3. Descriptions can echo token content (the
 * issuer), so the header copy is cut short and limited to printable ASCII without quotes or
 * backslashes: anything else would break the quoted string or make Node refuse the header.
 */
function invalid(description: string): OperationOutcomeError {
  const quoted = description.slice(0, 200).replace(/[^\x20-\x7e]|["\\]/g, '?');
  return unauthorized(
    description,
    `Bearer realm="county-hie", error="invalid_token", error_description="${quoted}"`,
  );
}
