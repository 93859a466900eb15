import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  type JsonWebKey,
} from 'node:crypto';
import { chmod, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Database } from '../db/database.ts';
import { jwkThumbprint } from '../auth/signing-key.ts';
import { INSTITUTION_ID_PATTERN } from './validate-entry.ts';

/**
 * Key pairs the exchange holds on behalf of institutions without a system of their own
 * (`hie upload`, the demo county). The private key stays in the data folder; only the public
 * JWK goes into the registry, where `/auth/token` finds it by kid.
 */
export interface InstitutionKey {
  id: string;
  kid: string;
  alg: 'ES384' | 'RS384';
  privateKeyPem: string;
  publicJwk: JsonWebKey & { kid: string; alg: string; use: 'sig' };
  file: string;
}

export function institutionKeyFile(dataDir: string, id: string): string {
  // The id pattern has no `/` or `.`, so the path cannot leave the folder.
  if (!INSTITUTION_ID_PATTERN.test(id)) throw new Error(`"${id}" is not an institution id`);
  return path.join(dataDir, 'keys', 'institutions', `${id}.pem`);
}

/** The institution's key from the data folder, or undefined when it has none there. */
export async function readInstitutionKey(dataDir: string, id: string): Promise<InstitutionKey | undefined> {
  const file = institutionKeyFile(dataDir, id);
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return describeKey(id, pem, file);
}

function describeKey(id: string, privateKeyPem: string, file: string): InstitutionKey {
  const privateKey = createPrivateKey(privateKeyPem);
  const alg = privateKey.asymmetricKeyType === 'rsa' ? 'RS384' : 'ES384';
  if (alg === 'ES384' && privateKey.asymmetricKeyDetails?.namedCurve !== 'secp384r1')
    throw new Error(`${file} must hold an EC P-384 or an RSA key`);
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  const kid = jwkThumbprint(jwk);
  return { id, kid, alg, privateKeyPem, publicJwk: { ...jwk, kid, alg, use: 'sig' }, file };
}

/**
 * Makes a new ES384 key pair for the institution: the private key replaces `<id>.pem` (0600),
 * the public JWK replaces the previous key made here in the registry. Keys the institution
 * registered itself stay, so rotating ours never locks out its own system.
 *
 * The registry is updated before the file is renamed into place: if the update fails, the old
 * pair still matches; if the rename failed after it, the next rotation repairs it.
 */
export async function rotateInstitutionKey(
  db: Database,
  dataDir: string,
  id: string,
): Promise<InstitutionKey> {
  const file = institutionKeyFile(dataDir, id);
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const previous = await readInstitutionKey(dataDir, id).catch(() => undefined);
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  const key = describeKey(id, pem, file);
  const temp = path.join(dir, `.${id}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  await writeFile(temp, pem, { mode: 0o600, flag: 'wx', flush: true });
  try {
    await db.transaction(async (tx) => {
      const { rows } = await tx.query<{ public_keys: JsonWebKey[] }>(
        'SELECT public_keys FROM institution WHERE id = $1 FOR UPDATE',
        [id],
      );
      if (!rows[0]) throw new Error(`no institution "${id}"`);
      const kept = rows[0].public_keys.filter((k) => k.kid !== previous?.kid);
      await tx.query(
        'UPDATE institution SET public_keys = $2, updated_at = clock_timestamp() WHERE id = $1',
        [id, JSON.stringify([...kept, key.publicJwk])],
      );
    });
    await rename(temp, file);
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  return key;
}

/**
 * With the demo issuer on, every active institution that has no way to authenticate (no
 * registered key, no JWKS URL) gets a key pair, so `hie upload` and the demo county work at
 * once. A key file left from an earlier run (the database was reset) is registered again
 * rather than replaced. Returns the ids that got a key.
 */
export async function ensureDemoKeys(db: Database, dataDir: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM institution
      WHERE active AND jwks_url IS NULL AND jsonb_array_length(public_keys) = 0 ORDER BY created_at, id`,
  );
  const given: string[] = [];
  for (const { id } of rows) {
    const existing = await readInstitutionKey(dataDir, id).catch(() => undefined);
    if (existing) {
      // Only when still keyless: a concurrent start may have registered one meanwhile.
      await db.query(
        `UPDATE institution SET public_keys = $2, updated_at = clock_timestamp()
          WHERE id = $1 AND jsonb_array_length(public_keys) = 0`,
        [id, JSON.stringify([existing.publicJwk])],
      );
    } else {
      await rotateInstitutionKey(db, dataDir, id);
    }
    given.push(id);
  }
  return given;
}
