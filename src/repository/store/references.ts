import type { Queryable } from '../../db/database.ts';
import { unprocessable } from '../../kernel/outcomes.ts';
import type { FhirModel } from '../fhir-model.ts';
import { keysMatch } from './resource-keys.ts';

/** A literal reference to a resource on this server, and where it stands in the resource. */
export interface LocalReference {
  resourceType: string;
  id: string;
  /** FHIRPath-like location, e.g. `Observation.subject` or `Bundle.entry[2].resource.subject`. */
  path: string;
}

/**
 * Finds every `reference` in a resource that points into this server: relative `Type/id`
 * (optionally versioned) or absolute under our own base URL. Contained (`#x`), `urn:` and
 * other servers' URLs are not ours to check.
 */
export function collectLocalReferences(
  model: FhirModel,
  resource: Record<string, unknown>,
  baseUrl: string,
  pathPrefix = String(resource.resourceType),
): LocalReference[] {
  const out: LocalReference[] = [];
  // A stored Bundle (document, message, collection) resolves its references among its own entries.
  if (resource.resourceType === 'Bundle') return out;
  const base = `${baseUrl}/`;
  const visit = (value: unknown, path: string) => {
    if (Array.isArray(value)) {
      value.forEach((v, i) => visit(v, `${path}[${i}]`));
      return;
    }
    if (value === null || typeof value !== 'object') return;
    for (const [key, v] of Object.entries(value)) {
      if (key === 'reference' && typeof v === 'string') {
        const local = parseLocalReference(model, v, base);
        if (local) out.push({ ...local, path });
      } else if (key !== 'contained' && typeof v === 'object') {
        visit(v, `${path}.${key}`);
      }
    }
  };
  visit(resource, pathPrefix);
  return out;
}

function parseLocalReference(
  model: FhirModel,
  ref: string,
  base: string,
): { resourceType: string; id: string } | undefined {
  const rel = ref.startsWith(base) ? ref.slice(base.length) : ref;
  const m = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]+)?$/.exec(rel);
  if (!m || !model.isResourceType(m[1]!)) return undefined;
  return { resourceType: m[1]!, id: m[2]! };
}

/** Fails with 422, naming each reference that does not resolve to a live resource. */
export async function assertReferencesExist(q: Queryable, refs: LocalReference[]): Promise<void> {
  if (refs.length === 0) return;
  const match = keysMatch(
    'r',
    refs.map((r) => ({ type: r.resourceType, id: r.id })),
  );
  const { rows } = await q.query<{ resource_type: string; id: string }>(
    `SELECT r.resource_type, r.id FROM resource r WHERE ${match.where} AND NOT r.deleted`,
    match.values,
  );
  const found = new Set(rows.map((r) => `${r.resource_type}/${r.id}`));
  const missing = refs.filter((r) => !found.has(`${r.resourceType}/${r.id}`));
  if (missing.length === 0) return;
  const err = unprocessable(
    missing
      .map((r) => `Reference ${r.resourceType}/${r.id} at ${r.path} does not resolve on this server`)
      .join('; '),
    undefined,
    'HIE-REPO-020',
  );
  err.outcome.issue = missing.map((r) => ({
    severity: 'error',
    code: 'not-found',
    diagnostics: `Reference ${r.resourceType}/${r.id} does not resolve on this server`,
    expression: [r.path],
  }));
  throw err;
}
