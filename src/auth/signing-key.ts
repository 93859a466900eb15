import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { JsonWebKey, KeyObject } from 'node:crypto';
import { chmod, link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** The exchange's one local signing key: it signs the demo issuer's and `/auth/token`'s tokens. */
export interface SigningKey {
  kid: string;
  alg: 'ES256';
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicJwk: JsonWebKey & { kid: string; alg: string; use: 'sig' };
}

/**
 * Loads `<dataDir>/keys/signing-key.pem`, or makes it on first start.
 *
 * Creation is atomic and never clobbers: the key is written to a private temp file and then
 * hard-linked to the final name, which fails if another process got there first. Two processes
 * starting together on an empty folder therefore both end up using whichever key was linked first,
 * and no reader ever sees a half-written file.
 */
export async function loadOrCreateSigningKey(dataDir: string): Promise<SigningKey> {
  const dir = path.join(dataDir, 'keys');
  const file = path.join(dir, 'signing-key.pem');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // mkdir's mode only applies to folders it creates (and is masked by umask); the key's folder
  // should be private regardless.
  await chmod(dir, 0o700);

  const existing = await readIfExists(file);
  if (existing !== undefined) return fromPem(existing, file);

  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  const temp = path.join(dir, `.signing-key.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  await writeFile(temp, pem, { mode: 0o600, flag: 'wx', flush: true });
  try {
    await link(temp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // Another process won the race; its key is complete (link is atomic), so use that one.
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  const stored = await readFile(file, 'utf8');
  return fromPem(stored, file);
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Turns the stored PEM into a `SigningKey`, refusing anything but an EC P-256 private key. */
function fromPem(pem: string, file: string): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch {
    throw new Error(`${file} is not a PKCS#8 PEM private key; remove it to have a new key made`);
  }
  if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error(`${file} must hold an EC P-256 key (tokens are signed with ES256)`);
  }
  const publicKey = createPublicKey(privateKey);
  const jwk = publicKey.export({ format: 'jwk' });
  const kid = jwkThumbprint(jwk);
  return {
    kid,
    alg: 'ES256',
    privateKey,
    publicKey,
    publicJwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, kid, alg: 'ES256', use: 'sig' },
  };
}

/**
 * RFC 7638 thumbprint of a public JWK: SHA-256 over its required members in lexicographic order
 * with no whitespace, base64url. Deriving the kid from the key means it changes exactly when the
 * key does. (RSA is handled too, so the RFC's own RSA example can check this function.)
 */
export function jwkThumbprint(jwk: JsonWebKey): string {
  let members: Record<string, unknown>;
  if (jwk.kty === 'EC') members = { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y };
  else if (jwk.kty === 'RSA') members = { e: jwk.e, kty: jwk.kty, n: jwk.n };
  else throw new Error(`No thumbprint for key type ${String(jwk.kty)}`);
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}
