import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateSigningKey } from '../../src/auth/signing-key.ts';
import { createTokenVerifier, type TokenVerifier } from '../../src/auth/verify-token.ts';
import { OperationOutcomeError } from '../../src/kernel/outcomes.ts';
import { hs256Token, nowSeconds } from './jwt-by-hand.ts';

/**
 * A regional identity provider stand-in: a real HTTP server publishing an RSA key as a JWKS,
 * which the verifier fetches through jwks-rsa.
 */
const KID = 'idp-key-1';
let idp: Server;
let jwksUri: string;
let privateKey: KeyObject;
let publicKey: KeyObject;
let jwksRequests = 0;
let dataDir: string;
let verifier: TokenVerifier;
const issuer = 'https://idp.county.test/realms/hie';
const audience = 'county-hie';

beforeAll(async () => {
  ({ privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 }));
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: KID, alg: 'RS256', use: 'sig' };
  idp = createServer((req, res) => {
    if (req.url !== '/jwks') {
      res.writeHead(404).end();
      return;
    }
    jwksRequests++;
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
  jwksUri = `http://127.0.0.1:${(idp.address() as AddressInfo).port}/jwks`;

  dataDir = await mkdtemp(path.join(os.tmpdir(), 'hie-auth-ext-'));
  verifier = createTokenVerifier({
    publicUrl: 'http://hie.test',
    signingKey: await loadOrCreateSigningKey(dataDir),
    // HS256 slipped into the configuration is dropped, never used.
    trustedIssuers: [{ issuer, jwksUri, audience, algorithms: ['RS256', 'HS256'] }],
  });
});
afterAll(async () => {
  idp.closeAllConnections();
  await new Promise((r) => idp.close(r));
  await rm(dataDir, { recursive: true, force: true });
});

function idpToken(claims: Record<string, unknown>): string {
  return jwt.sign(
    {
      iss: issuer,
      aud: audience,
      sub: 'dr-zhang',
      scope: 'openid user/Observation.read user/Patient.rs',
      ...claims,
    },
    privateKey,
    { algorithm: 'RS256', keyid: KID, expiresIn: 300 },
  );
}

async function status401(token: string): Promise<string> {
  const err = await verifier.verify(token).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(OperationOutcomeError);
  expect((err as OperationOutcomeError).status).toBe(401);
  return (err as OperationOutcomeError).outcome.issue[0]?.diagnostics ?? '';
}

describe('a trusted external issuer', () => {
  it('is accepted with a key fetched from its JWKS, and the key is cached', async () => {
    const auth = await verifier.verify(
      idpToken({ hie_institution: 'org-5', fhirUser: 'Practitioner/p5', hie_roles: ['clinician'] }),
    );
    expect(auth).toMatchObject({
      issuer,
      subject: 'dr-zhang',
      institution: 'org-5',
      fhirUser: 'Practitioner/p5',
    });
    expect([...auth.roles]).toEqual(['clinician']);
    // `openid` is ignored; the v1 read becomes r+s.
    expect(auth.scopes.map((s) => `${s.resourceType}.${[...s.letters].join('')}`)).toEqual([
      'Observation.rs',
      'Patient.rs',
    ]);
    const before = jwksRequests;
    expect(before).toBeGreaterThanOrEqual(1);
    await verifier.verify(idpToken({}));
    expect(jwksRequests).toBe(before);
  });

  it('rejects its token for another audience', async () => {
    expect(await status401(idpToken({ aud: 'someone-else' }))).toMatch(/audience/);
  });

  it('rejects an HS256 token claiming that issuer, even one keyed with the published key', async () => {
    const pem = publicKey.export({ format: 'pem', type: 'spki' }) as string;
    const payload = { iss: issuer, aud: audience, sub: 'attacker', exp: nowSeconds() + 60 };
    expect(await status401(hs256Token(payload, pem, KID))).toMatch(/HS256/);
  });

  it('rejects a token signed by a key the issuer did not publish', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const token = jwt.sign({ iss: issuer, aud: audience, sub: 'x' }, other, {
      algorithm: 'RS256',
      keyid: KID,
      expiresIn: 60,
    });
    expect(await status401(token)).toMatch(/signature/);
  });

  it('rejects a token whose kid the JWKS does not have', async () => {
    const token = jwt.sign({ iss: issuer, aud: audience, sub: 'x' }, privateKey, {
      algorithm: 'RS256',
      keyid: 'unknown-kid',
      expiresIn: 60,
    });
    expect(await status401(token)).toMatch(/signing key/);
  });

  it('rejects an RS384 token when the issuer is configured for RS256 only', async () => {
    const token = jwt.sign({ iss: issuer, aud: audience, sub: 'x' }, privateKey, {
      algorithm: 'RS384',
      keyid: KID,
      expiresIn: 60,
    });
    expect(await status401(token)).toMatch(/RS384/);
  });
});
