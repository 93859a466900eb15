import { execFile } from 'node:child_process';
import { createPublicKey, verify as verifySignature, sign as signData } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jwkThumbprint, loadOrCreateSigningKey } from '../../src/auth/signing-key.ts';

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'hie-auth-key-'));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('loadOrCreateSigningKey', () => {
  it('creates a private P-256 key file and reloads the same key', async () => {
    const first = await loadOrCreateSigningKey(dataDir);
    const file = path.join(dataDir, 'keys', 'signing-key.pem');
    expect((await readFile(file, 'utf8')).startsWith('-----BEGIN PRIVATE KEY-----')).toBe(true);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(path.join(dataDir, 'keys'))).mode & 0o777).toBe(0o700);

    const second = await loadOrCreateSigningKey(dataDir);
    expect(second.kid).toBe(first.kid);
    expect(second.publicJwk).toEqual(first.publicJwk);
    // The reloaded private key signs what the first public key verifies.
    const signature = signData('sha256', Buffer.from('x'), second.privateKey);
    expect(verifySignature('sha256', Buffer.from('x'), first.publicKey, signature)).toBe(true);
  });

  it('publishes a public JWK whose kid is its RFC 7638 thumbprint', async () => {
    const key = await loadOrCreateSigningKey(dataDir);
    expect(key.alg).toBe('ES256');
    expect(key.publicJwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', kid: key.kid });
    expect(key.publicJwk).not.toHaveProperty('d');
    expect(jwkThumbprint(key.publicJwk)).toBe(key.kid);
    // The JWK is a usable public key equal to the one in memory.
    const fromJwk = createPublicKey({ key: key.publicJwk, format: 'jwk' });
    expect(fromJwk.equals(key.publicKey)).toBe(true);
  });

  it('computes the thumbprint of the RFC 7638 section 3.1 example', () => {
    const jwk = {
      kty: 'RSA',
      n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
      e: 'AQAB',
      alg: 'RS256',
      kid: '2011-04-29',
    };
    expect(jwkThumbprint(jwk)).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });

  it('gives concurrent first starts on an empty folder one and the same key', async () => {
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateSigningKey(dataDir)));
    expect(new Set(keys.map((k) => k.kid)).size).toBe(1);
    // No temp files are left behind.
    expect(await readdir(path.join(dataDir, 'keys'))).toEqual(['signing-key.pem']);
  });

  it('gives two processes starting together on an empty folder the same key', async () => {
    // Separate processes, as when the gateway and the worker start at once.
    const moduleUrl = new URL('../../src/auth/signing-key.ts', import.meta.url).href;
    const script = `import(${JSON.stringify(moduleUrl)}).then((m) => m.loadOrCreateSigningKey(${JSON.stringify(dataDir)})).then((k) => console.log(k.kid))`;
    const run = () => promisify(execFile)(process.execPath, ['--import', 'tsx', '-e', script]);
    const [a, b] = await Promise.all([run(), run()]);
    expect(a.stdout.trim()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(b.stdout.trim()).toBe(a.stdout.trim());
    expect((await loadOrCreateSigningKey(dataDir)).kid).toBe(a.stdout.trim());
  });

  it('refuses a key file that is not an EC P-256 private key', async () => {
    await mkdir(path.join(dataDir, 'keys'), { recursive: true });
    await writeFile(path.join(dataDir, 'keys', 'signing-key.pem'), 'not a key');
    await expect(loadOrCreateSigningKey(dataDir)).rejects.toThrow(/not a PKCS#8 PEM private key/);
  });
});
