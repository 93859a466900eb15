import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminClaims,
  clinicianClaims,
  institutionClaims,
  issueToken,
  personClaims,
  privacyOfficerClaims,
  workerClaims,
} from '../../src/auth/issue-token.ts';
import { loadOrCreateSigningKey, type SigningKey } from '../../src/auth/signing-key.ts';
import { createTokenVerifier, type TokenVerifier } from '../../src/auth/verify-token.ts';
import { OperationOutcomeError } from '../../src/kernel/outcomes.ts';
import { hs256Token, nowSeconds, unsignedToken } from './jwt-by-hand.ts';

const publicUrl = 'http://hie.test:8080';
let dataDir: string;
let key: SigningKey;
let verifier: TokenVerifier;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'hie-auth-verify-'));
  key = await loadOrCreateSigningKey(dataDir);
  verifier = createTokenVerifier({ publicUrl, signingKey: key, trustedIssuers: [] });
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

/** Asserts a 401 with an RFC 6750 invalid_token challenge, and returns the diagnostics. */
async function rejected(token: string, v: TokenVerifier = verifier): Promise<string> {
  const err = await v.verify(token).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OperationOutcomeError);
  const e = err as OperationOutcomeError;
  expect(e.status).toBe(401);
  expect(e.headers['WWW-Authenticate']).toMatch(
    /^Bearer realm="county-hie", error="invalid_token", error_description="[^"]+"$/,
  );
  return e.outcome.issue[0]?.diagnostics ?? '';
}

describe('issueToken', () => {
  it('signs ES256 with the key id and sets iat, exp and a fresh jti', async () => {
    const token = await issueToken(key, adminClaims(publicUrl), 600);
    const decoded = jwt.decode(token, { complete: true })!;
    expect(decoded.header).toMatchObject({ alg: 'ES256', kid: key.kid });
    const p = decoded.payload as jwt.JwtPayload;
    expect(p.exp! - p.iat!).toBe(600);
    expect(Math.abs(p.iat! - nowSeconds())).toBeLessThanOrEqual(2);
    const other = jwt.decode(await issueToken(key, adminClaims(publicUrl), 600)) as jwt.JwtPayload;
    expect(typeof p.jti).toBe('string');
    expect(other.jti).not.toBe(p.jti);
  });
});

describe('local tokens round trip', () => {
  it('admin', async () => {
    const auth = await verifier.verify(await issueToken(key, adminClaims(publicUrl), 60));
    expect(auth.issuer).toBe(publicUrl);
    expect(auth.subject).toBe('hie-admin');
    expect([...auth.roles]).toEqual(['admin']);
    expect(auth.scopes.map((s) => `${s.context}/${s.resourceType}.${[...s.letters].join('')}`)).toEqual([
      'system/*.cruds',
      'user/*.cruds',
    ]);
    expect(auth.claims.aud).toBe(`${publicUrl}/fhir`);
  });

  it('clinician', async () => {
    const auth = await verifier.verify(
      await issueToken(key, clinicianClaims(publicUrl, 'org-1', 'pr-9'), 60),
    );
    expect(auth).toMatchObject({
      institution: 'org-1',
      fhirUser: 'Practitioner/pr-9',
      subject: 'Practitioner/pr-9',
    });
    expect([...auth.roles]).toEqual(['clinician']);
    expect(auth.scopes).toHaveLength(1);
    expect(auth.scopes[0]).toMatchObject({ context: 'user', resourceType: '*' });
    expect([...auth.scopes[0]!.letters]).toEqual(['r', 's']);
    expect(auth.patient).toBeUndefined();
  });

  it('privacy officer', async () => {
    const auth = await verifier.verify(await issueToken(key, privacyOfficerClaims(publicUrl, 'org-2'), 60));
    expect(auth.institution).toBe('org-2');
    expect([...auth.roles]).toEqual(['privacy-officer']);
    expect(auth.scopes[0]).toMatchObject({ context: 'user', resourceType: '*' });
  });

  it('person', async () => {
    const auth = await verifier.verify(await issueToken(key, personClaims(publicUrl, 'pat-7'), 60));
    expect(auth).toMatchObject({ patient: 'pat-7', fhirUser: 'Patient/pat-7' });
    expect(auth.roles.size).toBe(0);
    expect(auth.scopes[0]).toMatchObject({ context: 'patient', resourceType: '*' });
    expect(auth.institution).toBeUndefined();
  });

  it('institution', async () => {
    const auth = await verifier.verify(await issueToken(key, institutionClaims(publicUrl, 'org-3'), 60));
    expect(auth).toMatchObject({ subject: 'org-3', institution: 'org-3' });
    expect(auth.scopes[0]).toMatchObject({ context: 'system', resourceType: '*' });
    expect(auth.roles.size).toBe(0);
  });

  it('worker', async () => {
    const auth = await verifier.verify(await issueToken(key, workerClaims(publicUrl), 60));
    expect(auth.subject).toBe('hie-worker');
    expect([...auth.roles]).toEqual(['worker']);
    expect([...auth.scopes[0]!.letters]).toEqual(['c', 'r', 'u', 'd', 's']);
  });

  it('keeps only the known roles', async () => {
    const claims = { ...adminClaims(publicUrl), hie_roles: ['admin', 'superuser', 'clinician', 42] };
    const auth = await verifier.verify(await issueToken(key, claims, 60));
    expect([...auth.roles].sort()).toEqual(['admin', 'clinician']);
  });
});

describe('local tokens rejected with 401', () => {
  it('expired', async () => {
    const reason = await rejected(await issueToken(key, adminClaims(publicUrl), -120));
    expect(reason).toMatch(/expired/);
  });

  it('wrong audience', async () => {
    const reason = await rejected(
      await issueToken(key, { ...adminClaims(publicUrl), aud: 'http://other/fhir' }, 60),
    );
    expect(reason).toMatch(/audience/);
  });

  it('wrong issuer (unknown)', async () => {
    const reason = await rejected(
      await issueToken(key, { ...adminClaims(publicUrl), iss: 'http://evil.test' }, 60),
    );
    expect(reason).toMatch(/not trusted: http:\/\/evil\.test/);
  });

  it('signed by another key', async () => {
    const otherDir = await mkdtemp(path.join(os.tmpdir(), 'hie-auth-other-'));
    try {
      const other = await loadOrCreateSigningKey(otherDir);
      // Even with our kid in the header, another key's signature does not verify.
      const token = await issueToken({ ...other, kid: key.kid }, adminClaims(publicUrl), 60);
      expect(await rejected(token)).toMatch(/signature/);
    } finally {
      await rm(otherDir, { recursive: true, force: true });
    }
  });

  it('tampered payload', async () => {
    const [h, , s] = (await issueToken(key, clinicianClaims(publicUrl, 'org-1', 'pr-1'), 60)).split('.');
    const forged = Buffer.from(
      JSON.stringify({ ...adminClaims(publicUrl), exp: nowSeconds() + 60 }),
    ).toString('base64url');
    expect(await rejected(`${h}.${forged}.${s}`)).toMatch(/signature/);
  });

  it('alg none', async () => {
    await rejected(unsignedToken({ ...adminClaims(publicUrl), exp: nowSeconds() + 60 }));
  });

  it('HS256 signed with the public key text (algorithm confusion)', async () => {
    const pem = key.publicKey.export({ format: 'pem', type: 'spki' }) as string;
    const payload = { ...adminClaims(publicUrl), exp: nowSeconds() + 60 };
    await rejected(hs256Token(payload, pem, key.kid));
    await rejected(hs256Token(payload, JSON.stringify(key.publicJwk), key.kid));
  });

  it('without exp', async () => {
    const token = jwt.sign(adminClaims(publicUrl), key.privateKey, { algorithm: 'ES256', keyid: key.kid });
    expect(await rejected(token)).toMatch(/expiry/);
  });

  it('not a JWT', async () => {
    expect(await rejected('not-a-token')).toMatch(/well-formed/);
  });

  it('keeps the challenge header valid when the issuer holds quotes and non-ASCII text', async () => {
    const token = await issueToken(key, { ...adminClaims(publicUrl), iss: 'http://x"y\\z/县' }, 60);
    await rejected(token);
  });
});
