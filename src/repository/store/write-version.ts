import type { Queryable } from '../../db/database.ts';
import { stringifyFhirJson } from '../../kernel/fhir-json.ts';
import type { FhirModel } from '../fhir-model.ts';
import { extractIndexRows } from '../index/extract-index.ts';
import {
  addIndexInserts,
  addIndexSync,
  deleteIndexRows,
  runParts,
  type IndexedResource,
  type StatementParts,
} from '../index/write-index.ts';
import type { IndexRows, StoredResource } from '../types.ts';

export type WriteMethod = 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** A version ready to be written: its stored form, the text of its content and its index rows. */
interface Prepared {
  stored: StoredResource;
  method: Exclude<WriteMethod, 'DELETE'>;
  rows: IndexRows;
  /** Its previous version still has index rows, to be brought up to date by the write. */
  replacesIndex: boolean;
}

/**
 * Versions gathered for one statement: new resources (a plain insert: a collision is an error)
 * and new versions of resources that may exist (an upsert). Whatever their number, the statement
 * takes one form per kind of index row present — one array per column through `unnest` — so
 * PostgreSQL keeps its plan instead of planning a new text for every transaction's shape.
 * Each `add…` returns at once what the statement will store; `send` writes them all.
 */
export class PendingWrites {
  private creates: Prepared[] = [];
  private versions: Prepared[] = [];

  constructor(
    private readonly model: FhirModel,
    private readonly baseUrl?: string,
  ) {}

  get size(): number {
    return this.creates.length + this.versions.length;
  }

  /** Brand-new resources whose ids are fresh (no row can exist yet). */
  addNew(resources: Record<string, any>[]): StoredResource[] {
    const lastUpdated = new Date().toISOString();
    return resources.map((r) => {
      const p = this.prepare(r, undefined, 'POST', lastUpdated);
      this.creates.push(p);
      return p.stored;
    });
  }

  /** A new version of `resource`; `previous` is its current version read FOR UPDATE (if any). */
  addVersion(
    resource: Record<string, any>,
    previous: StoredResource | undefined,
    method: Exclude<WriteMethod, 'DELETE'>,
  ): StoredResource {
    const p = this.prepare(resource, previous, method, new Date().toISOString());
    this.versions.push(p);
    return p.stored;
  }

  /** Writes what was gathered, in one statement, and starts empty again. */
  async send(q: Queryable): Promise<void> {
    if (this.size === 0) return;
    const parts: StatementParts = { ctes: [], params: [] };
    if (this.creates.length > 0) addRows(parts, this.creates, 'insert');
    if (this.versions.length > 0) addRows(parts, this.versions, 'upsert');
    const all = [...this.creates, ...this.versions];
    const indexed = (list: Prepared[]): IndexedResource[] =>
      list.map((p) => ({ resourceType: p.stored.resourceType, id: p.stored.id, rows: p.rows }));
    addIndexInserts(parts, indexed(all.filter((p) => !p.replacesIndex)));
    addIndexSync(parts, indexed(all.filter((p) => p.replacesIndex)));
    this.creates = [];
    this.versions = [];
    await runParts(q, parts);
  }

  private prepare(
    resource: Record<string, any>,
    previous: StoredResource | undefined,
    method: Exclude<WriteMethod, 'DELETE'>,
    lastUpdated: string,
  ): Prepared {
    const versionId = (previous?.versionId ?? 0) + 1;
    resource.meta = { ...(resource.meta ?? {}), versionId: String(versionId), lastUpdated };
    const rows = extractIndexRows(this.model, resource, this.baseUrl);
    const json = stringifyFhirJson(orderResourceFirst(resource));
    return {
      stored: {
        resourceType: resource.resourceType as string,
        id: resource.id as string,
        versionId,
        lastUpdated,
        deleted: false,
        json,
      },
      method,
      rows,
      // Nothing to delete when the id is new or its rows went with its deletion.
      replacesIndex: Boolean(previous && !previous.deleted),
    };
  }
}

/** The current rows and history rows of prepared versions, as two CTEs over column arrays. */
function addRows(parts: StatementParts, list: Prepared[], how: 'insert' | 'upsert'): void {
  /** One column of the rows, bound as an array. */
  const column = (value: (x: Prepared) => unknown, cast: string) =>
    `unnest($${parts.params.push(list.map(value))}::${cast}[])`;
  /**
   * A column of JSON texts, bound as ONE JSON array: each element is spliced in as it is, where a
   * text[] would have every quote escaped by the driver and unescaped by PostgreSQL (most of a
   * transaction's bytes). `json` elements keep their text exactly.
   */
  const jsonColumn = (value: (x: Prepared) => string) =>
    `json_array_elements($${parts.params.push(`[${list.map(value).join(',')}]`)}::json)`;
  const t = column((x) => x.stored.resourceType, 'text');
  const i = column((x) => x.stored.id, 'text');
  const v = column((x) => x.stored.versionId, 'integer');
  const u = column((x) => x.stored.lastUpdated, 'timestamptz');
  const c = jsonColumn((x) => JSON.stringify(x.rows.compartments));
  const j = jsonColumn((x) => x.stored.json!);
  const m = column((x) => x.method, 'text');
  const conflict =
    how === 'upsert'
      ? `
       ON CONFLICT (resource_type, id) DO UPDATE
         SET version_id = EXCLUDED.version_id, last_updated = EXCLUDED.last_updated, deleted = false,
             compartments = EXCLUDED.compartments, content = EXCLUDED.content`
      : '';
  // ROWS FROM zips the arrays row by row, as a many-argument unnest does.
  parts.ctes.push(
    `INSERT INTO resource (resource_type, id, version_id, last_updated, deleted, compartments, content)
       SELECT t, i, v, u, false, ARRAY(SELECT json_array_elements_text(c)), j
         FROM ROWS FROM (${t}, ${i}, ${v}, ${u}, ${c}, ${j}) AS x(t, i, v, u, c, j)${conflict}`,
    `INSERT INTO resource_history (resource_type, id, version_id, last_updated, deleted, method, content)
       SELECT t, i, v, u, false, m, j
         FROM ROWS FROM (${t}, ${i}, ${v}, ${u}, ${m}, ${j}) AS x(t, i, v, u, m, j)`,
  );
}

/**
 * Writes one new version inside the caller's transaction: the current row, the history row and
 * the search index, together, so a reader never sees one without the others. `previous` is the
 * current version read FOR UPDATE by the caller (undefined for a new id).
 */
export async function writeVersion(
  q: Queryable,
  model: FhirModel,
  resource: Record<string, any>,
  previous: StoredResource | undefined,
  method: Exclude<WriteMethod, 'DELETE'>,
  baseUrl?: string,
): Promise<StoredResource> {
  const pending = new PendingWrites(model, baseUrl);
  const stored = pending.addVersion(resource, previous, method);
  await pending.send(q);
  return stored;
}

/**
 * Inserts many brand-new resources in one statement (arrays through `unnest`): the bulk of a
 * transaction Bundle (a Synthea patient is hundreds of POSTs). Ids are fresh UUIDv7s, so no row
 * exists yet.
 */
export async function writeNewResources(
  q: Queryable,
  model: FhirModel,
  resources: Record<string, any>[],
  baseUrl?: string,
): Promise<StoredResource[]> {
  const pending = new PendingWrites(model, baseUrl);
  const stored = pending.addNew(resources);
  await pending.send(q);
  return stored;
}

/** Records a deletion as a new version without content and drops the resource from the index. */
export async function writeDeletion(q: Queryable, previous: StoredResource): Promise<StoredResource> {
  const versionId = previous.versionId + 1;
  const lastUpdated = new Date().toISOString();
  await q.query(
    `UPDATE resource SET version_id = $3, last_updated = $4, deleted = true, content = NULL, compartments = '{}'
      WHERE resource_type = $1 AND id = $2`,
    [previous.resourceType, previous.id, versionId, lastUpdated],
  );
  await q.query(
    `INSERT INTO resource_history (resource_type, id, version_id, last_updated, deleted, method, content)
     VALUES ($1, $2, $3, $4, true, 'DELETE', NULL)`,
    [previous.resourceType, previous.id, versionId, lastUpdated],
  );
  await deleteIndexRows(q, previous.resourceType, [previous.id]);
  return { ...previous, versionId, lastUpdated, deleted: true, json: null };
}

/** `resourceType`, `id`, `meta` first: what a reader of the raw text expects to see. */
function orderResourceFirst(resource: Record<string, unknown>): Record<string, unknown> {
  const { resourceType, id, meta, ...rest } = resource;
  return { resourceType, id, meta, ...rest };
}
