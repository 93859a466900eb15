import type { Queryable } from '../../db/database.ts';
import { stringifyFhirJson } from '../../kernel/fhir-json.ts';
import type { FhirModel } from '../fhir-model.ts';
import { extractIndexRows } from '../index/extract-index.ts';
import { addIndexWrites, deleteIndexRows, runParts, type StatementParts } from '../index/write-index.ts';
import type { StoredResource } from '../types.ts';

export type WriteMethod = 'POST' | 'PUT' | 'PATCH' | 'DELETE';

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
  const parts: StatementParts = { ctes: [], params: [] };
  const stored = addVersionWrite(parts, model, resource, previous, method, baseUrl);
  await runParts(q, parts);
  return stored;
}

/**
 * `writeVersion` as parts of a statement the caller runs (with other writes of its transaction:
 * one round trip for all of them). The returned version is what the statement will store.
 */
export function addVersionWrite(
  parts: StatementParts,
  model: FhirModel,
  resource: Record<string, any>,
  previous: StoredResource | undefined,
  method: Exclude<WriteMethod, 'DELETE'>,
  baseUrl?: string,
): StoredResource {
  const type = resource.resourceType as string;
  const id = resource.id as string;
  const versionId = (previous?.versionId ?? 0) + 1;
  const lastUpdated = new Date().toISOString();
  resource.meta = { ...(resource.meta ?? {}), versionId: String(versionId), lastUpdated };
  const json = stringifyFhirJson(orderResourceFirst(resource));
  const rows = extractIndexRows(model, resource, baseUrl);
  const p = (value: unknown) => `$${parts.params.push(value)}`;
  const [t, i, v, at, compartments, content, how] = [
    type,
    id,
    versionId,
    lastUpdated,
    rows.compartments,
    json,
    method,
  ].map(p);
  parts.ctes.push(
    `INSERT INTO resource (resource_type, id, version_id, last_updated, deleted, compartments, content)
       VALUES (${t}, ${i}, ${v}, ${at}, false, ${compartments}, ${content}::json)
       ON CONFLICT (resource_type, id) DO UPDATE
         SET version_id = EXCLUDED.version_id, last_updated = EXCLUDED.last_updated, deleted = false,
             compartments = EXCLUDED.compartments, content = EXCLUDED.content`,
    `INSERT INTO resource_history (resource_type, id, version_id, last_updated, deleted, method, content)
       VALUES (${t}, ${i}, ${v}, ${at}, false, ${how}, ${content}::json)`,
  );
  // Nothing to delete when the id is new or its rows went with its deletion.
  addIndexWrites(parts, [{ resourceType: type, id, rows }], { fresh: !previous || previous.deleted });
  return { resourceType: type, id, versionId, lastUpdated, deleted: false, json };
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
  const parts: StatementParts = { ctes: [], params: [] };
  const stored = addNewResources(parts, model, resources, baseUrl);
  await runParts(q, parts);
  return stored;
}

/** `writeNewResources` as parts of a statement the caller runs. */
export function addNewResources(
  parts: StatementParts,
  model: FhirModel,
  resources: Record<string, any>[],
  baseUrl?: string,
): StoredResource[] {
  if (resources.length === 0) return [];
  const lastUpdated = new Date().toISOString();
  const types: string[] = [];
  const ids: string[] = [];
  const compartments: string[] = [];
  const jsons: string[] = [];
  const index = [];
  for (const resource of resources) {
    resource.meta = { ...(resource.meta ?? {}), versionId: '1', lastUpdated };
    const rows = extractIndexRows(model, resource, baseUrl);
    types.push(resource.resourceType);
    ids.push(resource.id);
    compartments.push(JSON.stringify(rows.compartments));
    jsons.push(stringifyFhirJson(orderResourceFirst(resource)));
    index.push({ resourceType: resource.resourceType as string, id: resource.id as string, rows });
  }
  const p = (value: unknown) => `$${parts.params.push(value)}`;
  const [t, i, c, at, j] = [types, ids, compartments, lastUpdated, jsons].map(p);
  parts.ctes.push(
    `INSERT INTO resource (resource_type, id, version_id, last_updated, deleted, compartments, content)
       SELECT t, i, 1, ${at}, false, ARRAY(SELECT jsonb_array_elements_text(c::jsonb)), j::json
         FROM unnest(${t}::text[], ${i}::text[], ${c}::text[], ${j}::text[]) AS x(t, i, c, j)`,
    `INSERT INTO resource_history (resource_type, id, version_id, last_updated, deleted, method, content)
       SELECT t, i, 1, ${at}, false, 'POST', j::json FROM unnest(${t}::text[], ${i}::text[], ${j}::text[]) AS x(t, i, j)`,
  );
  addIndexWrites(parts, index, { fresh: true });
  return resources.map((r, n) => ({
    resourceType: r.resourceType,
    id: r.id,
    versionId: 1,
    lastUpdated,
    deleted: false,
    json: jsons[n]!,
  }));
}
