import { createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { JWT_BEARER, signClientAssertion } from '../../../src/auth/backend-services/client-assertion.ts';
import { tokenEndpoint } from '../../../src/auth/backend-services/token-endpoint.ts';
import { loadOrCreateSigningKey, jwkThumbprint, type SigningKey } from '../../../src/auth/signing-key.ts';
import { createTokenVerifier } from '../../../src/auth/verify-token.ts';
import {
  readInstitutionKey,
  rotateInstitutionKey,
  type InstitutionKey,
} from '../../../src/institutions/institution-keys.ts';
import { addInstitutions, disableInstitution } from '../../../src/institutions/manage.ts';
import { PostgresInstitutionRegistry } from '../../../src/institutions/postgres-registry.ts';
import { seedInstitutions } from '../../../src/institutions/seed.ts';
import { publicEntry } from '../../../src/institutions/validate-entry.ts';
import { silentLogger } from '../../../src/kernel/logger.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';
import { hs256Token, nowSeconds, unsignedToken } from '../jwt-by-hand.ts';

const HOSPITAL = 'county-peoples-hospital';
const LAB = 'county-shared-lab';
const TOWNSHIP = 'qiaotou-township-health-centre';
const VILLAGE = 'dongcun-village-clinic';

/**
 * The token endpoint in a small real Express app on a loopback port, on a real database, called
 * with real fetch: the refusals are the ones the SMART Backend Services conformance tests try.
 */
describe.each(inject('pgServers'))('POST /auth/token (SMART Backend Services) on $name', (server) => {
  let t: TestDatabase;
  let dataDir: string;
  let http: Server;
  let base: string;
  let tokenUrl: string;
  let signingKey: SigningKey;
  let es384: InstitutionKey;
  let rsaPem: string;
  let jwksPem: string;

  beforeAll(async () => {
    t = await createTestDatabase(server);
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'hie-token-endpoint-'));
    await seedInstitutions(t.db);
    signingKey = await loadOrCreateSigningKey(dataDir);
    const app = express();
    http = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    tokenUrl = `${base}/auth/token`;

    // ES384: a key the exchange made and registered (as `hie institutions rotate-key` does).
    es384 = await rotateInstitutionKey(t.db, dataDir, HOSPITAL);
    // RS384: the lab registered its own public key.
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    rsaPem = rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    const registry = new PostgresInstitutionRegistry(t.db, { ttlMs: 0 });
    const lab = (await registry.get(LAB))!;
    await addInstitutions(
      t.db,
      { ...publicEntry(lab), publicKeys: [rsa.publicKey.export({ format: 'jwk' })] },
      { replace: true },
    );
    // The township publishes its keys at a JWKS URL (served by this same test app).
    const published = generateKeyPairSync('rsa', { modulusLength: 2048 });
    jwksPem = published.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    const publishedJwk = published.publicKey.export({ format: 'jwk' });
    app.get('/township/jwks.json', (_req, res) => {
      res.json({ keys: [{ ...publishedJwk, kid: jwkThumbprint(publishedJwk), alg: 'RS384', use: 'sig' }] });
    });
    const township = (await registry.get(TOWNSHIP))!;
    await addInstitutions(
      t.db,
      { ...publicEntry(township), jwksUrl: `${base}/township/jwks.json` },
      { replace: true },
    );
    await rotateInstitutionKey(t.db, dataDir, VILLAGE);
    await disableInstitution(t.db, VILLAGE);

    app.use(tokenEndpoint({ db: t.db, registry, signingKey, publicUrl: base, logger: silentLogger() }));
  });
  afterAll(async () => {
    http?.closeAllConnections();
    await new Promise((r) => http?.close(r));
    await t?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const post = async (fields: Record<string, string>, contentType = 'application/x-www-form-urlencoded') => {
    const res = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'Content-Type': contentType },
      body: contentType.includes('json') ? JSON.stringify(fields) : new URLSearchParams(fields).toString(),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
  };
  const form = (assertion: string, over: Record<string, string> = {}) => ({
    grant_type: 'client_credentials',
    client_assertion_type: JWT_BEARER,
    client_assertion: assertion,
    scope: 'system/*.cruds',
    ...over,
  });
  const hospitalAssertion = (over: Partial<Parameters<typeof signClientAssertion>[1]> = {}) =>
    signClientAssertion(es384.privateKeyPem, { clientId: HOSPITAL, tokenUrl, ...over });
  /** A claim set as a conformant client would sign it, for the hand-made forgeries. */
  const claims = () => ({
    iss: HOSPITAL,
    sub: HOSPITAL,
    aud: tokenUrl,
    exp: nowSeconds() + 240,
    jti: randomUUID(),
  });

  /** The RFC 6749 error, and — where the reason matters — that it was refused for that reason. */
  const expectRefused = (
    r: { status: number; headers: Headers; body: Record<string, any> },
    status: number,
    error: string,
    reason: RegExp = /./,
  ) => {
    expect(r.status).toBe(status);
    expect(r.body.error).toBe(error);
    expect(r.body.error_description).toMatch(reason);
    expect(r.headers.get('cache-control')).toBe('no-store');
  };

  it('issues a ≤ 5 minute system-scoped token for a good ES384 assertion, accepted by the verifier', async () => {
    const r = await post(form(hospitalAssertion()));
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.body).toMatchObject({ token_type: 'bearer', expires_in: 300, scope: 'system/*.cruds' });
    const verifier = createTokenVerifier({ publicUrl: base, signingKey, trustedIssuers: [] });
    const auth = await verifier.verify(r.body.access_token);
    expect(auth.institution).toBe(HOSPITAL);
    expect(auth.subject).toBe(HOSPITAL);
    expect(auth.scopes.map((s) => s.context)).toEqual(['system']);
    const payload = jwt.decode(r.body.access_token) as jwt.JwtPayload;
    expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(300);
    expect(payload.aud).toBe(`${base}/fhir`);
  });

  it('accepts RS384 with a registered public key and with a key from the JWKS URL', async () => {
    const lab = await post(form(signClientAssertion(rsaPem, { clientId: LAB, tokenUrl })));
    expect(lab.status).toBe(200);
    expect((jwt.decode(lab.body.access_token) as jwt.JwtPayload).hie_institution).toBe(LAB);
    const township = await post(form(signClientAssertion(jwksPem, { clientId: TOWNSHIP, tokenUrl })));
    expect(township.status).toBe(200);
    expect((jwt.decode(township.body.access_token) as jwt.JwtPayload).hie_institution).toBe(TOWNSHIP);
  });

  it('grants only system/ scopes within what an institution may have', async () => {
    const r = await post(
      form(hospitalAssertion(), { scope: 'system/Patient.rs user/*.rs openid system/Observation.read' }),
    );
    expect(r.status).toBe(200);
    expect(r.body.scope).toBe('system/Patient.rs system/Observation.rs');
  });

  it('refuses an assertion expiring more than 5 minutes ahead', async () => {
    expectRefused(
      await post(form(hospitalAssertion({ ttlSeconds: 6 * 60 }))),
      401,
      'invalid_client',
      /more than 300 s ahead/,
    );
  });

  it('refuses an expired assertion', async () => {
    expectRefused(
      await post(form(hospitalAssertion({ ttlSeconds: -120 }))),
      401,
      'invalid_client',
      /expired/,
    );
  });

  it('refuses a replayed jti, even in a freshly signed assertion', async () => {
    const jti = randomUUID();
    expect((await post(form(hospitalAssertion({ jti })))).status).toBe(200);
    expectRefused(await post(form(hospitalAssertion({ jti }))), 401, 'invalid_client', /replayed/);
  });

  it('does not spend the jti of a refused request', async () => {
    const assertion = hospitalAssertion();
    expectRefused(await post(form(assertion, { scope: 'user/*.rs' })), 400, 'invalid_scope');
    expect((await post(form(assertion))).status).toBe(200);
  });

  it('refuses a wrong aud (the FHIR base, or the token URL inside an array)', async () => {
    expectRefused(
      await post(form(hospitalAssertion({ tokenUrl: `${base}/fhir` }))),
      401,
      'invalid_client',
      /aud must be/,
    );
    const key = es384.privateKeyPem;
    const arrayAud = jwt.sign({ ...claims(), aud: [tokenUrl, 'https://elsewhere.example'] }, key, {
      algorithm: 'ES384',
      keyid: es384.kid,
    });
    expectRefused(await post(form(arrayAud)), 401, 'invalid_client', /aud must be/);
  });

  it('refuses alg none', async () => {
    expectRefused(await post(form(unsignedToken(claims()))), 401, 'invalid_client', /alg none/);
  });

  it('refuses HS256 signed with the public key text (algorithm confusion)', async () => {
    const publicPem = createPublicKey(es384.privateKeyPem).export({ format: 'pem', type: 'spki' }) as string;
    expectRefused(
      await post(form(hs256Token(claims(), publicPem, es384.kid))),
      401,
      'invalid_client',
      /alg HS256/,
    );
  });

  it('refuses a signature by another key under the registered kid, and iss ≠ sub', async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({
      format: 'pem',
      type: 'pkcs8',
    }) as string;
    expectRefused(
      await post(form(signClientAssertion(other, { clientId: HOSPITAL, tokenUrl, kid: es384.kid }))),
      401,
      'invalid_client',
      /invalid signature/,
    );
    const mixed = jwt.sign({ ...claims(), sub: LAB }, es384.privateKeyPem, {
      algorithm: 'ES384',
      keyid: es384.kid,
    });
    expectRefused(await post(form(mixed)), 401, 'invalid_client', /iss and sub/);
  });

  it('refuses an unknown client and a disabled institution', async () => {
    expectRefused(
      await post(form(signClientAssertion(es384.privateKeyPem, { clientId: 'nobody-clinic', tokenUrl }))),
      401,
      'invalid_client',
      /Unknown client/,
    );
    const village = (await readInstitutionKey(dataDir, VILLAGE))!.privateKeyPem;
    expectRefused(
      await post(form(signClientAssertion(village, { clientId: VILLAGE, tokenUrl }))),
      401,
      'invalid_client',
      /disabled/,
    );
  });

  it('refuses a wrong grant_type, an unknown scope and malformed requests with their RFC 6749 errors', async () => {
    expectRefused(
      await post(form(hospitalAssertion(), { grant_type: 'authorization_code' })),
      400,
      'unsupported_grant_type',
    );
    expectRefused(
      await post(form(hospitalAssertion(), { scope: 'system/Spaceship.rs' })),
      400,
      'invalid_scope',
    );
    expectRefused(
      await post(form(hospitalAssertion(), { client_assertion_type: 'urn:x' })),
      400,
      'invalid_request',
    );
    const { client_assertion: _dropped, ...withoutAssertion } = form(hospitalAssertion());
    expectRefused(await post(withoutAssertion), 400, 'invalid_request');
    expectRefused(await post(form(hospitalAssertion()), 'application/json'), 400, 'invalid_request');
    const twice = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `${new URLSearchParams(form(hospitalAssertion())).toString()}&scope=system%2F*.rs`,
    });
    expect(twice.status).toBe(400);
    expect(((await twice.json()) as { error: string }).error).toBe('invalid_request');
  });
});
