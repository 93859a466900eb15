import type { JsonWebKey } from 'node:crypto';
import type { Queryable } from '../db/database.ts';
import type { Institution, InstitutionEntry } from './types.ts';
import { publicEntry } from './validate-entry.ts';

/** Serialises registry writes (seed, add), so two of them cannot both claim one facility code. */
export const REGISTRY_LOCK = 7_246_004;

/** One row of the `institution` table as pg returns it. */
interface InstitutionRow {
  id: string;
  entry: InstitutionEntry;
  active: boolean;
  jwks_url: string | null;
  public_keys: JsonWebKey[];
  mllp_allow_from: string[];
}

export function rowToInstitution(row: InstitutionRow): Institution {
  const out: Institution = {
    ...publicEntry(row.entry),
    active: row.active,
    publicKeys: row.public_keys,
    mllpAllowFrom: row.mllp_allow_from,
  };
  if (row.jwks_url !== null) out.jwksUrl = row.jwks_url;
  return out;
}

/** Every institution, in the order they were registered (the seed file's order first). */
export async function readInstitutions(db: Queryable): Promise<Institution[]> {
  const { rows } = await db.query<InstitutionRow>(
    'SELECT id, entry, active, jwks_url, public_keys, mllp_allow_from FROM institution ORDER BY created_at, id',
  );
  return rows.map(rowToInstitution);
}

export async function readInstitution(db: Queryable, id: string): Promise<Institution | undefined> {
  const { rows } = await db.query<InstitutionRow>(
    'SELECT id, entry, active, jwks_url, public_keys, mllp_allow_from FROM institution WHERE id = $1',
    [id],
  );
  return rows[0] && rowToInstitution(rows[0]);
}
