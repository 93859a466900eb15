import { readFile } from 'node:fs/promises';
import type { ConceptMap } from 'fhir/r4';
import { parseConceptMap, type MappingSet } from '../engine/index.ts';

/** The loaded ConceptMaps as FHIR resources, by id: what `ConceptMap/$translate` reads. */
export interface ConceptMapSource {
  conceptMapResources(): ReadonlyMap<string, ConceptMap>;
}

/**
 * The full resources behind a loaded set's ConceptMaps. The engine keeps only a code → targets
 * table (no url, equivalence or source system), which is all mapping needs but not what
 * `$translate` must answer, so the files are read again here. A file changed between the load and
 * this read is skipped: the watcher that saw the change reloads the set anyway.
 */
export async function readConceptMapResources(set: MappingSet): Promise<Map<string, ConceptMap>> {
  const out = new Map<string, ConceptMap>();
  for (const cm of set.conceptMaps.values()) {
    const text = await readFile(cm.file, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    const parsed = parseConceptMap(cm.file, text);
    if (parsed.resource && parsed.map?.id === cm.id) out.set(cm.id, parsed.resource as unknown as ConceptMap);
  }
  return out;
}

/** A fixed source for a set loaded once (no hot reload): its ConceptMaps as they are now. */
export async function staticConceptMapSource(set: MappingSet): Promise<ConceptMapSource> {
  const resources = await readConceptMapResources(set);
  return { conceptMapResources: () => resources };
}
