import { lockNamesInOrder } from '../../db/advisory-locks.ts';
import type { Queryable } from '../../db/database.ts';
import { gone, notFound } from '../../kernel/outcomes.ts';
import type { StoredResource } from '../types.ts';
import { keysMatch, type ResourceKey } from './resource-keys.ts';

interface Row {
  resource_type: string;
  id: string;
  version_id: number;
  last_updated: Date;
  deleted: boolean;
  json: string | null;
}

export function toStored(r: Row): StoredResource {
  return {
    resourceType: r.resource_type,
    id: r.id,
    versionId: r.version_id,
    lastUpdated: r.last_updated.toISOString(),
    deleted: r.deleted,
    json: r.json,
  };
}

export const STORED_COLUMNS = 'resource_type, id, version_id, last_updated, deleted, content::text AS json';

/** The current version, deleted or not; undefined when the id was never used. */
export async function findCurrent(
  q: Queryable,
  type: string,
  id: string,
  lock = false,
): Promise<StoredResource | undefined> {
  const { rows } = await q.query<Row>(
    `SELECT ${STORED_COLUMNS} FROM resource WHERE resource_type = $1 AND id = $2${lock ? ' FOR UPDATE' : ''}`,
    [type, id],
  );
  return rows[0] ? toStored(rows[0]) : undefined;
}

/**
 * The current version locked for a write. A row lock cannot cover an id that has no row yet, so
 * two updates-as-create of one new id would both see nothing and both write version 1; for an
 * unknown id the transaction takes an advisory lock on the id and looks again, so the later
 * writer waits for the earlier one's commit and writes version 2.
 */
export async function findCurrentForWrite(
  q: Queryable,
  type: string,
  id: string,
): Promise<StoredResource | undefined> {
  const found = await findCurrent(q, type, id, true);
  if (found) return found;
  await lockNamesInOrder(q, ID_LOCK_SPACE, [`${type}/${id}`]);
  return findCurrent(q, type, id, true);
}

/** The advisory-lock space of ids written before they have a row (`Type/id`). */
export const ID_LOCK_SPACE = 1;

/** Current versions for a write, keyed `Type/id`; null where the id has no row yet. */
export type PrefetchedCurrent = Map<string, StoredResource | null>;

/**
 * `findCurrentForWrite` for all the ids a transaction updates, in three statements at most
 * instead of up to three each: rows locked in key order (two transactions updating the same
 * resources cannot deadlock), then the advisory locks of the ids without a row, then those looked
 * at again. Ids the transaction locked before this read need no second look: one statement.
 */
export async function findCurrentManyForWrite(
  q: Queryable,
  keys: readonly { type: string; id: string }[],
  /** `Type/id`s whose id lock (`ID_LOCK_SPACE`) this transaction already holds. */
  locked: ReadonlySet<string> = new Set(),
): Promise<PrefetchedCurrent> {
  const found: PrefetchedCurrent = new Map();
  const unique = [...new Map(keys.map((k) => [`${k.type}/${k.id}`, k])).values()];
  const select = async (want: readonly ResourceKey[]) => {
    const match = keysMatch('r', want);
    const { rows } = await q.query<Row>(
      `SELECT ${STORED_COLUMNS} FROM resource r WHERE ${match.where}
        ORDER BY r.resource_type, r.id FOR UPDATE OF r`,
      match.values,
    );
    for (const row of rows) found.set(`${row.resource_type}/${row.id}`, toStored(row));
  };
  if (unique.length === 0) return found;
  await select(unique);
  // An id without a row whose lock was taken before the read above cannot have gained one since:
  // the read's snapshot already sees whatever a creator holding that lock committed.
  const missing = unique.filter((k) => !found.has(`${k.type}/${k.id}`) && !locked.has(`${k.type}/${k.id}`));
  if (missing.length > 0) {
    await lockNamesInOrder(
      q,
      ID_LOCK_SPACE,
      missing.map((k) => `${k.type}/${k.id}`),
    );
    await select(missing);
  }
  for (const k of unique) if (!found.has(`${k.type}/${k.id}`)) found.set(`${k.type}/${k.id}`, null);
  return found;
}

/** FHIR read: 404 for an unknown id, 410 for a deleted one. */
export async function readCurrent(q: Queryable, type: string, id: string): Promise<StoredResource> {
  const found = await findCurrent(q, type, id);
  if (!found) throw notFound(`${type}/${id} is not known`);
  if (found.deleted) throw gone(`${type}/${id} was deleted (version ${found.versionId})`);
  return found;
}

/** FHIR vread: the version as it was; 410 when that version is a deletion. */
export async function readVersion(
  q: Queryable,
  type: string,
  id: string,
  versionId: number,
): Promise<StoredResource> {
  const { rows } = await q.query<Row>(
    `SELECT ${STORED_COLUMNS} FROM resource_history WHERE resource_type = $1 AND id = $2 AND version_id = $3`,
    [type, id, versionId],
  );
  if (!rows[0]) throw notFound(`${type}/${id}/_history/${versionId} is not known`);
  const stored = toStored(rows[0]);
  if (stored.deleted) throw gone(`${type}/${id} version ${versionId} is a deletion`);
  return stored;
}
