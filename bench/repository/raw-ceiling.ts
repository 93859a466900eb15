import type { Database, Queryable } from '../../src/db/database.ts';
import { uuidv7 } from '../../src/kernel/ids.ts';
import { stringifyFhirJson } from '../../src/kernel/fhir-json.ts';
import type { FhirModel } from '../../src/repository/fhir-model.ts';
import { extractIndexRows } from '../../src/repository/index/extract-index.ts';
import { replaceIndexRows, type IndexedResource } from '../../src/repository/index/write-index.ts';
import { round, runPool, summarize, type LatencySummary } from '../support/stats.ts';

/** One bundle made ready for the database: ids assigned, references resolved, index rows extracted. */
export interface RawBundle {
  types: string[];
  ids: string[];
  compartments: string[];
  jsons: string[];
  index: IndexedResource[];
}

export interface RawResult {
  clients: number;
  bundles: number;
  resources: number;
  seconds: number;
  resourcesPerSecond: number;
  bundleMs: LatencySummary;
  indexRows: number;
  /** Share of statement time per part: where PostgreSQL spends a bulk insert. */
  splitPct: { resource: number; history: number; index: number };
}

/**
 * Everything the repository does before SQL, done ahead of the clock: uuidv7 ids, urn:uuid and
 * conditional references rewritten to `Type/id` (conditional ones looked up in `lookupDb`, where the
 * providers were loaded over HTTP), `meta`, and the index rows `extractIndexRows` gives.
 */
export async function prepareRaw(
  lookupDb: Queryable,
  model: FhirModel,
  bodies: string[],
): Promise<{ bundles: RawBundle[]; extractSeconds: number }> {
  const resolved = new Map<string, string>();
  const bundles: RawBundle[] = [];
  let extractMs = 0;
  for (const body of bodies) {
    const entries: any[] = JSON.parse(body).entry ?? [];
    const local = new Map<string, string>();
    for (const e of entries) {
      e.resource.id = uuidv7();
      local.set(e.fullUrl, `${e.resource.resourceType}/${e.resource.id}`);
    }
    for (const e of entries) await rewrite(e.resource, local, resolved, lookupDb);
    const b: RawBundle = { types: [], ids: [], compartments: [], jsons: [], index: [] };
    const lastUpdated = new Date().toISOString();
    const t = performance.now();
    for (const { resource } of entries) {
      resource.meta = { ...(resource.meta ?? {}), versionId: '1', lastUpdated };
      const rows = extractIndexRows(model, resource);
      b.types.push(resource.resourceType);
      b.ids.push(resource.id);
      b.compartments.push(JSON.stringify(rows.compartments));
      b.jsons.push(stringifyFhirJson(resource));
      b.index.push({ resourceType: resource.resourceType, id: resource.id, rows });
    }
    extractMs += performance.now() - t;
    bundles.push(b);
  }
  return { bundles, extractSeconds: extractMs / 1000 };
}

/** Writes the prepared bundles, one transaction each, from `clients` connections: PostgreSQL alone. */
export async function writeRaw(db: Database, bundles: RawBundle[], clients: number): Promise<RawResult> {
  const split = { resource: 0, history: 0, index: 0 };
  const started = performance.now();
  const ms = await runPool(bundles.length, clients, async (i) => {
    const t = performance.now();
    await db.transaction((q) => writeBundle(q, bundles[i]!, split));
    return performance.now() - t;
  });
  const splitTotal = split.resource + split.history + split.index;
  const pct = (x: number) => round((100 * x) / splitTotal, 1);
  const seconds = (performance.now() - started) / 1000;
  const resources = bundles.reduce((n, b) => n + b.ids.length, 0);
  const indexRows = bundles.reduce((n, b) => n + b.index.reduce((m, x) => m + rowCount(x), 0), 0);
  return {
    clients,
    bundles: bundles.length,
    resources,
    seconds: round(seconds),
    resourcesPerSecond: round(resources / seconds, 0),
    bundleMs: summarize(ms),
    indexRows,
    splitPct: { resource: pct(split.resource), history: pct(split.history), index: pct(split.index) },
  };
}

/** The same statements a transaction Bundle's bulk insert runs: resource, history, seven index tables. */
async function writeBundle(
  q: Queryable,
  b: RawBundle,
  split: { resource: number; history: number; index: number },
): Promise<void> {
  const now = new Date().toISOString();
  let t = performance.now();
  await q.query(
    `INSERT INTO resource (resource_type, id, version_id, last_updated, deleted, compartments, content)
     SELECT t, i, 1, $4, false, ARRAY(SELECT jsonb_array_elements_text(c::jsonb)), j::jsonb
       FROM unnest($1::text[], $2::text[], $3::text[], $5::text[]) AS x(t, i, c, j)`,
    [b.types, b.ids, b.compartments, now, b.jsons],
  );
  split.resource += performance.now() - t;
  t = performance.now();
  await q.query(
    `INSERT INTO resource_history (resource_type, id, version_id, last_updated, deleted, method, content)
     SELECT t, i, 1, $3, false, 'POST', j::jsonb FROM unnest($1::text[], $2::text[], $4::text[]) AS x(t, i, j)`,
    [b.types, b.ids, now, b.jsons],
  );
  split.history += performance.now() - t;
  t = performance.now();
  await replaceIndexRows(q, b.index, { fresh: true });
  split.index += performance.now() - t;
}

function rowCount(x: IndexedResource): number {
  const r = x.rows;
  return (
    r.token.length +
    r.string.length +
    r.date.length +
    r.reference.length +
    r.number.length +
    r.quantity.length +
    r.uri.length
  );
}

/** Rewrites every `reference` in place: bundle-local urn:uuids and `Type?identifier=system|value`. */
async function rewrite(
  node: any,
  local: Map<string, string>,
  resolved: Map<string, string>,
  db: Queryable,
): Promise<void> {
  if (Array.isArray(node)) {
    for (const x of node) await rewrite(x, local, resolved, db);
    return;
  }
  if (!node || typeof node !== 'object') return;
  for (const [key, value] of Object.entries(node)) {
    if (key === 'reference' && typeof value === 'string') {
      if (local.has(value)) node.reference = local.get(value);
      else if (value.includes('?')) node.reference = await resolveConditional(value, resolved, db);
    } else if (typeof value === 'object') {
      await rewrite(value, local, resolved, db);
    }
  }
}

async function resolveConditional(
  criteria: string,
  cache: Map<string, string>,
  db: Queryable,
): Promise<string> {
  const hit = cache.get(criteria);
  if (hit) return hit;
  const m = /^([A-Za-z]+)\?identifier=([^|]*)\|(.*)$/.exec(criteria);
  if (!m) return criteria;
  const { rows } = await db.query(
    `SELECT resource_id FROM sp_token WHERE resource_type = $1 AND code = 'identifier' AND system = $2 AND value = $3 LIMIT 1`,
    [m[1], m[2], m[3]],
  );
  // Unresolved (no providers loaded): keep the criteria, as an unresolvable reference would be indexed.
  const ref = rows[0] ? `${m[1]}/${rows[0].resource_id}` : criteria;
  cache.set(criteria, ref);
  return ref;
}
