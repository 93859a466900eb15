import { createPublicKey, type JsonWebKey } from 'node:crypto';
import net from 'node:net';
import type { Database, Queryable } from '../db/database.ts';
import { jwkThumbprint } from '../auth/signing-key.ts';
import { readInstitution, readInstitutions, REGISTRY_LOCK } from './institution-rows.ts';
import { dependencyOrder } from './dependency-order.ts';
import type { Institution, InstitutionEntry } from './types.ts';
import { InstitutionValidationError, validateEntries } from './validate-entry.ts';

/** Fields an `add` file may carry beside the public entry. */
const CREDENTIAL_FIELDS = new Set(['jwksUrl', 'publicKeys', 'mllpAllowFrom']);

interface Credentials {
  jwksUrl?: string;
  publicKeys?: JsonWebKey[];
  mllpAllowFrom?: string[];
}

/**
 * Registers institutions from an `add` file's content: one entry or an array of them, each in
 * the CONTRACTS shape, optionally with `jwksUrl`, `publicKeys` (public JWKs, RS384/ES384 capable)
 * and `mllpAllowFrom` (IP addresses). An id already registered is refused unless `replace`, which
 * replaces the public entry (and the credentials given) but keeps the active flag.
 */
export async function addInstitutions(
  db: Database,
  content: unknown,
  opts: { replace?: boolean } = {},
): Promise<Institution[]> {
  const values = Array.isArray(content) ? content : [content];
  if (values.length === 0) throw new InstitutionValidationError(['the file holds no institution']);
  const credentials = values.map((v, i) => checkCredentials(v, `[${i}]`));
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [REGISTRY_LOCK]);
    const ids = new Set(values.map((v) => (v as { id?: unknown } | null)?.id));
    const existing = (await readInstitutions(tx)).filter((i) => !(opts.replace && ids.has(i.id)));
    const entries = validateEntries(values, existing, CREDENTIAL_FIELDS).map((entry, i) => ({
      ...entry,
      credentials: credentials[i] ?? {},
    }));
    const out: Institution[] = [];
    // Parents first, so the registration order (and so listings) reads top-down.
    for (const { credentials: c, ...entry } of dependencyOrder(entries)) {
      await upsert(tx, entry, c);
      out.push((await readInstitution(tx, entry.id))!);
    }
    return out;
  });
}

async function upsert(tx: Queryable, entry: InstitutionEntry, c: Credentials): Promise<void> {
  // COALESCE keeps stored credentials that the file does not mention.
  await tx.query(
    `INSERT INTO institution (id, entry, jwks_url, public_keys, mllp_allow_from)
     VALUES ($1, $2, $3, COALESCE($4::jsonb, '[]'), COALESCE($5::text[], '{}'))
     ON CONFLICT (id) DO UPDATE SET
       entry = EXCLUDED.entry,
       jwks_url = COALESCE($3, institution.jwks_url),
       public_keys = COALESCE($4::jsonb, institution.public_keys),
       mllp_allow_from = COALESCE($5::text[], institution.mllp_allow_from),
       updated_at = clock_timestamp()`,
    [
      entry.id,
      JSON.stringify(entry),
      c.jwksUrl ?? null,
      c.publicKeys ? JSON.stringify(c.publicKeys) : null,
      c.mllpAllowFrom ?? null,
    ],
  );
}

/** Sets the active flag; a disabled institution gets no token and no facility code lookup. */
export async function setInstitutionActive(db: Queryable, id: string, active: boolean): Promise<Institution> {
  const { rowCount } = await db.query(
    'UPDATE institution SET active = $2, updated_at = clock_timestamp() WHERE id = $1',
    [id, active],
  );
  if (rowCount === 0) throw new InstitutionValidationError([`id: no institution "${id}"`]);
  return (await readInstitution(db, id))!;
}

export const disableInstitution = (db: Queryable, id: string) => setInstitutionActive(db, id, false);
export const enableInstitution = (db: Queryable, id: string) => setInstitutionActive(db, id, true);

/** Replaces the source addresses allowed to send over MLLP as this institution. */
export async function setMllpAllowFrom(db: Queryable, id: string, addresses: string[]): Promise<void> {
  const bad = addresses.filter((a) => net.isIP(a) === 0);
  if (bad.length > 0)
    throw new InstitutionValidationError([`mllpAllowFrom: not IP addresses: ${bad.join(', ')}`]);
  const { rowCount } = await db.query(
    'UPDATE institution SET mllp_allow_from = $2, updated_at = clock_timestamp() WHERE id = $1',
    [id, addresses],
  );
  if (rowCount === 0) throw new InstitutionValidationError([`id: no institution "${id}"`]);
}

/** Checks the credential fields of one `add` value (the entry's own fields are checked elsewhere). */
function checkCredentials(value: unknown, where: string): Credentials {
  if (typeof value !== 'object' || value === null) return {};
  const v = value as Record<string, unknown>;
  const problems: string[] = [];
  const out: Credentials = {};
  if (v.jwksUrl !== undefined) {
    if (typeof v.jwksUrl !== 'string' || !/^https?:\/\//.test(v.jwksUrl) || !URL.canParse(v.jwksUrl))
      problems.push(`${where}.jwksUrl: must be an http(s) URL`);
    else out.jwksUrl = v.jwksUrl;
  }
  if (v.publicKeys !== undefined) {
    if (!Array.isArray(v.publicKeys)) problems.push(`${where}.publicKeys: must be an array of JWKs`);
    else
      out.publicKeys = v.publicKeys.map((k, i) => checkPublicJwk(k, `${where}.publicKeys[${i}]`, problems));
  }
  if (v.mllpAllowFrom !== undefined) {
    if (
      !Array.isArray(v.mllpAllowFrom) ||
      v.mllpAllowFrom.some((a) => typeof a !== 'string' || net.isIP(a) === 0)
    )
      problems.push(`${where}.mllpAllowFrom: must be an array of IP addresses`);
    else out.mllpAllowFrom = v.mllpAllowFrom as string[];
  }
  if (problems.length > 0) throw new InstitutionValidationError(problems);
  return out;
}

/**
 * A public key usable for RS384 or ES384 assertions; its kid defaults to the RFC 7638
 * thumbprint. Private members are refused outright: a private key has no place in the registry.
 */
export function checkPublicJwk(value: unknown, where: string, problems: string[]): JsonWebKey {
  const k = value as JsonWebKey;
  if (typeof k !== 'object' || k === null) {
    problems.push(`${where}: must be a JWK object`);
    return {};
  }
  if (['d', 'p', 'q', 'dp', 'dq', 'qi'].some((m) => m in k)) {
    problems.push(`${where}: holds private key material; register the public key only`);
    return {};
  }
  const ok = (k.kty === 'EC' && k.crv === 'P-384') || k.kty === 'RSA';
  if (!ok) {
    problems.push(`${where}: must be an RSA key (RS384) or an EC P-384 key (ES384)`);
    return {};
  }
  try {
    const key = createPublicKey({ key: k, format: 'jwk' });
    if (k.kty === 'RSA' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048)
      problems.push(`${where}: RSA keys must have at least 2048 bits`);
  } catch (err) {
    problems.push(`${where}: not a usable key (${(err as Error).message})`);
    return {};
  }
  return { ...k, kid: typeof k.kid === 'string' && k.kid !== '' ? k.kid : jwkThumbprint(k) };
}
