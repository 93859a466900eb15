import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { canonicalFhirJson, parseFhirJson } from '../kernel/fhir-json.ts';
import type { FhirRepository } from '../repository/store/fhir-repository.ts';

const NAMING_SYSTEMS_DIR = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../profiles/naming-systems',
);

/**
 * The shipped NamingSystems (one per identifier system of CONTRACTS.md) are served by the
 * repository, so clients find them at `/fhir/NamingSystem`. Written under their own ids; a
 * resource whose content has not changed is left alone, so restarts add no versions.
 */
export async function publishNamingSystems(
  repo: FhirRepository,
  dir = NAMING_SYSTEMS_DIR,
): Promise<string[]> {
  const written: string[] = [];
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.json')).sort()) {
    const resource = parseFhirJson(await readFile(path.join(dir, file), 'utf8')) as Record<string, any>;
    if (resource.resourceType !== 'NamingSystem' || typeof resource.id !== 'string') continue;
    const current = await repo.read('NamingSystem', resource.id).catch(() => undefined);
    if (current?.json && sameContent(parseFhirJson(current.json) as Record<string, any>, resource)) continue;
    await repo.update('NamingSystem', resource.id, resource);
    written.push(resource.id);
  }
  return written;
}

function sameContent(stored: Record<string, any>, shipped: Record<string, any>): boolean {
  const { meta: _m, ...a } = stored;
  const { meta: _n, ...b } = shipped;
  return canonicalFhirJson(a) === canonicalFhirJson(b);
}
