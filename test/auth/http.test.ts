import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPublicKey } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import express, { type ErrorRequestHandler } from 'express';
import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate } from '../../src/auth/auth-middleware.ts';
import { clinicianClaims, issueToken } from '../../src/auth/issue-token.ts';
import { loadOrCreateSigningKey, type SigningKey } from '../../src/auth/signing-key.ts';
import { authRoutes, smartConfiguration } from '../../src/auth/smart-configuration.ts';
import { createTokenVerifier, type AuthContext } from '../../src/auth/verify-token.ts';
import { OperationOutcomeError } from '../../src/kernel/outcomes.ts';

/**
 * The middleware and the JWKS route in a tiny real Express app on a loopback port, called with
 * real fetch. The error handler is a minimal stand-in for the app's: status, headers, outcome.
 */
let server: Server;
let base: string;
let dataDir: string;
let key: SigningKey;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'hie-auth-http-'));
  key = await loadOrCreateSigningKey(dataDir);
  const app = express();
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const verifier = createTokenVerifier({ publicUrl: base, signingKey: key, trustedIssuers: [] });
  const whoAmI = (_req: express.Request, res: express.Response) => {
    const auth = res.locals.auth as AuthContext | undefined;
    res.json({ subject: auth?.subject ?? null, institution: auth?.institution ?? null });
  };
  app.use(authRoutes(key));
  app.use(authenticate(verifier, { anonymous: (req) => req.path === '/open' || req.path === '/auth/jwks' }));
  app.get('/open', whoAmI);
  app.get('/protected', whoAmI);
  const onError: ErrorRequestHandler = (err, _req, res, _next) => {
    const e =
      err instanceof OperationOutcomeError
        ? err
        : new OperationOutcomeError(500, { resourceType: 'OperationOutcome', issue: [] });
    res.status(e.status).set(e.headers).json(e.outcome);
  };
  app.use(onError);
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await rm(dataDir, { recursive: true, force: true });
});

const get = (p: string, token?: string) =>
  fetch(`${base}${p}`, token === undefined ? {} : { headers: { Authorization: `Bearer ${token}` } });

describe('authenticate', () => {
  it('lets an anonymous route through without a token', async () => {
    const res = await get('/open');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ subject: null, institution: null });
  });

  it('still sets the auth context on an anonymous route when a valid token is given', async () => {
    const token = await issueToken(key, clinicianClaims(base, 'org-1', 'pr-1'), 60);
    expect(await (await get('/open', token)).json()).toEqual({
      subject: 'Practitioner/pr-1',
      institution: 'org-1',
    });
  });

  it('ignores an invalid token on an anonymous route', async () => {
    const res = await get('/open', 'garbage');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ subject: null, institution: null });
  });

  it('answers 401 with a challenge when a protected route has no token', async () => {
    const res = await get('/protected');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="county-hie"');
    const body = (await res.json()) as { issue: { code: string; diagnostics: string }[] };
    expect(body.issue[0]).toMatchObject({ code: 'login', diagnostics: 'A bearer token is required' });
  });

  it('treats a non-Bearer Authorization header as no token', async () => {
    const res = await fetch(`${base}/protected`, { headers: { Authorization: 'Basic YTpi' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="county-hie"');
  });

  it('answers 401 invalid_token for an expired token', async () => {
    const res = await get('/protected', await issueToken(key, clinicianClaims(base, 'org-1', 'pr-1'), -120));
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(
      /error="invalid_token", error_description="The token expired/,
    );
  });

  it('passes a valid token and sets res.locals.auth', async () => {
    const token = await issueToken(key, clinicianClaims(base, 'org-9', 'pr-2'), 60);
    const res = await fetch(`${base}/protected`, { headers: { authorization: `bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ subject: 'Practitioner/pr-2', institution: 'org-9' });
  });
});

describe('GET /auth/jwks', () => {
  it('publishes the public key, cacheable for five minutes, and it verifies our tokens', async () => {
    const res = await get('/auth/jwks');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toMatch(/max-age=300/);
    const body = (await res.json()) as { keys: Record<string, unknown>[] };
    expect(body.keys).toHaveLength(1);
    const [jwk] = body.keys;
    expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-256', kid: key.kid, alg: 'ES256', use: 'sig' });
    expect(jwk).not.toHaveProperty('d');
    const token = await issueToken(key, clinicianClaims(base, 'o', 'p'), 60);
    const publicKey = createPublicKey({ key: jwk as any, format: 'jwk' });
    expect(() => jwt.verify(token, publicKey, { algorithms: ['ES256'] })).not.toThrow();
  });
});

describe('smartConfiguration', () => {
  it('describes the endpoints and capabilities under the public URL', () => {
    const doc = smartConfiguration('https://hie.example');
    expect(doc).toMatchObject({
      issuer: 'https://hie.example',
      jwks_uri: 'https://hie.example/auth/jwks',
      token_endpoint: 'https://hie.example/auth/token',
      grant_types_supported: ['client_credentials'],
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
      response_types_supported: [],
      capabilities: ['permission-v2', 'client-confidential-asymmetric'],
      code_challenge_methods_supported: ['S256'],
    });
    expect(doc.scopes_supported).toEqual(
      expect.arrayContaining(['system/*.cruds', 'user/*.rs', 'patient/*.rs']),
    );
  });
});
