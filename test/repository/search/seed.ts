import type { Queryable } from '../../../src/db/database.ts';
import { normalizeSearchString } from '../../../src/repository/search/param-values.ts';

/**
 * Test seeding: a resource row plus index rows written by hand, in the shapes the schema's
 * comments define, so that search is tested against exactly the rows it is meant to read.
 */
export type Row =
  | { t: 'token'; code: string; system: string | null; value: string | null; text?: string | null }
  | { t: 'string'; code: string; value: string }
  | { t: 'date'; code: string; lo: string; hi: string }
  | { t: 'reference'; code: string; target?: string; url?: string }
  | { t: 'number'; code: string; value: string }
  | { t: 'quantity'; code: string; value: string; system: string | null; unit: string | null }
  | { t: 'uri'; code: string; value: string };

export const tok = (code: string, system: string | null, value: string | null, text?: string): Row => ({
  t: 'token',
  code,
  system,
  value,
  text: text ?? null,
});
export const str = (code: string, value: string): Row => ({ t: 'string', code, value });
export const date = (code: string, lo: string, hi: string = lo): Row => ({ t: 'date', code, lo, hi });
/** A whole day, stored as the closed range [00:00, 23:59:59.999] UTC. */
export const day = (code: string, d: string): Row => date(code, `${d}T00:00:00Z`, `${d}T23:59:59.999Z`);
export const ref = (code: string, target: string): Row => ({ t: 'reference', code, target });
export const refUrl = (code: string, url: string): Row => ({ t: 'reference', code, url });
export const num = (code: string, value: string): Row => ({ t: 'number', code, value });
export const qty = (code: string, value: string, system: string | null, unit: string | null): Row => ({
  t: 'quantity',
  code,
  value,
  system,
  unit,
});
export const uri = (code: string, value: string): Row => ({ t: 'uri', code, value });

function grams(norm: string): string[] {
  const chars = Array.from(norm);
  const out = new Set<string>(chars);
  for (let i = 0; i + 1 < chars.length; i++) out.add(chars[i]! + chars[i + 1]!);
  return [...out];
}

export async function seed(
  db: Queryable,
  resource: { resourceType: string; id: string; [k: string]: unknown },
  rows: Row[] = [],
  lastUpdated = new Date().toISOString(),
): Promise<void> {
  const { resourceType: type, id } = resource;
  const content = {
    ...resource,
    meta: { ...((resource.meta as object) ?? {}), versionId: '1', lastUpdated },
  };
  await db.query(
    `INSERT INTO resource (resource_type, id, version_id, last_updated, content) VALUES ($1, $2, 1, $3, $4::json)`,
    [type, id, lastUpdated, JSON.stringify(content)],
  );
  for (const r of rows) await insertRow(db, type, id, r);
}

async function insertRow(db: Queryable, type: string, id: string, r: Row): Promise<void> {
  const k = [type, id, r.code];
  switch (r.t) {
    case 'token':
      await db.query('INSERT INTO sp_token VALUES ($1,$2,$3,$4,$5,$6)', [
        ...k,
        r.system,
        r.value,
        r.text ?? null,
      ]);
      return;
    case 'string': {
      const norm = normalizeSearchString(r.value);
      await db.query('INSERT INTO sp_string VALUES ($1,$2,$3,$4,$5,$6)', [...k, norm, r.value, grams(norm)]);
      return;
    }
    case 'date':
      await db.query('INSERT INTO sp_date VALUES ($1,$2,$3,$4,$5)', [...k, r.lo, r.hi]);
      return;
    case 'reference': {
      const [tt, ti] = r.target ? r.target.split('/') : [null, null];
      await db.query('INSERT INTO sp_reference VALUES ($1,$2,$3,$4,$5,$6)', [...k, tt, ti, r.url ?? null]);
      return;
    }
    case 'number':
      await db.query('INSERT INTO sp_number VALUES ($1,$2,$3,$4)', [...k, r.value]);
      return;
    case 'quantity':
      await db.query('INSERT INTO sp_quantity VALUES ($1,$2,$3,$4,$5,$6)', [...k, r.value, r.system, r.unit]);
      return;
    case 'uri':
      await db.query('INSERT INTO sp_uri VALUES ($1,$2,$3,$4)', [...k, r.value]);
      return;
  }
}

/** A deletion as the store records it: the row stays, without content, and leaves the index. */
export async function markDeleted(db: Queryable, type: string, id: string): Promise<void> {
  await db.query(
    `UPDATE resource SET deleted = true, content = NULL, version_id = version_id + 1 WHERE resource_type = $1 AND id = $2`,
    [type, id],
  );
  for (const t of [
    'sp_token',
    'sp_string',
    'sp_date',
    'sp_reference',
    'sp_number',
    'sp_quantity',
    'sp_uri',
  ]) {
    await db.query(`DELETE FROM ${t} WHERE resource_type = $1 AND resource_id = $2`, [type, id]);
  }
}
