import type { Coding, ConceptMap, ConceptMapGroup } from 'fhir/r4';

/** What `$translate` was asked, read from query or Parameters (R4 ConceptMap-translate inputs). */
export interface TranslateQuery {
  /** ConceptMap canonical, optionally `url|version`. */
  url?: string;
  conceptMapVersion?: string;
  /** Instance level: the ConceptMap id of the URL. */
  id?: string;
  codings: { system?: string; code: string }[];
  /** Source / target value sets (ConceptMap.source[x] / target[x]). */
  source?: string;
  target?: string;
  targetsystem?: string;
}

export interface TranslateMatch {
  equivalence: string;
  concept?: Coding;
  /** The canonical of the ConceptMap that gave the match. */
  source: string;
}

export interface TranslateAnswer {
  result: boolean;
  message: string;
  matches: TranslateMatch[];
}

/** R4: result is true only if some match is neither `unmatched` nor `disjoint`. */
const NOT_A_TRANSLATION = new Set(['unmatched', 'disjoint']);

/**
 * Translates codes over the given ConceptMaps. `maps` must already be narrowed to the ones the
 * request names (url, id); here the value-set and system filters apply.
 */
export function translateCodes(maps: ConceptMap[], q: TranslateQuery): TranslateAnswer {
  const chosen = maps.filter(
    (cm) =>
      (q.source === undefined || canonicalIs(cm.sourceUri ?? cm.sourceCanonical, q.source)) &&
      (q.target === undefined ||
        canonicalIs(cm.targetUri ?? cm.targetCanonical, q.target) ||
        // Many clients send the target *code system* as `target`: accept a map with such a group.
        (cm.group ?? []).some((g) => g.target === q.target)),
  );
  const byUrl = new Map(maps.filter((m) => m.url).map((m) => [m.url!, m]));
  const matches: TranslateMatch[] = [];
  for (const cm of chosen)
    for (const coding of q.codings) matches.push(...inMap(cm, coding, q, byUrl, new Set([cm])));
  const result = matches.some((m) => !NOT_A_TRANSLATION.has(m.equivalence));
  const what = q.codings.map((c) => (c.system ? `${c.system}|${c.code}` : c.code)).join(', ');
  const names = chosen.map((cm) => cm.url ?? `ConceptMap/${cm.id}`).join(', ');
  const message =
    chosen.length === 0
      ? 'No loaded ConceptMap matches the requested source and target'
      : result
        ? `${what} translated by ${[...new Set(matches.map((m) => m.source))].join(', ')}`
        : `No translation of ${what} in ${names}`;
  return { result, message, matches };
}

function inMap(
  cm: ConceptMap,
  coding: { system?: string; code: string },
  q: TranslateQuery,
  byUrl: Map<string, ConceptMap>,
  seen: Set<ConceptMap>,
): TranslateMatch[] {
  const source = cm.url ?? `ConceptMap/${cm.id}`;
  const out: TranslateMatch[] = [];
  for (const g of cm.group ?? []) {
    // A group without a source system (the shipped ones: local systems differ per institution)
    // takes any system; one that names its source takes only that one.
    if (coding.system !== undefined && g.source !== undefined && g.source !== coding.system) continue;
    if (q.targetsystem !== undefined && g.target !== q.targetsystem) continue;
    const elements = (g.element ?? []).filter((e) => e.code === coding.code);
    for (const e of elements)
      for (const t of e.target ?? [])
        out.push({
          // R4 requires an equivalence; the loader treats a missing one as usable, so do we.
          equivalence: t.equivalence ?? 'equivalent',
          ...(t.code !== undefined ? { concept: concept(g, t.code, t.display) } : {}),
          source,
        });
    if (elements.length === 0 && g.unmapped) out.push(...unmapped(g, coding, q, byUrl, seen, source));
  }
  return out;
}

/** `group.unmapped`: what a code without an element maps to. */
function unmapped(
  g: ConceptMapGroup,
  coding: { system?: string; code: string },
  q: TranslateQuery,
  byUrl: Map<string, ConceptMap>,
  seen: Set<ConceptMap>,
  source: string,
): TranslateMatch[] {
  const u = g.unmapped!;
  if (u.mode === 'provided') return [{ equivalence: 'equal', concept: concept(g, coding.code), source }];
  if (u.mode === 'fixed' && u.code)
    // A catch-all code says less than the source did.
    return [{ equivalence: 'wider', concept: concept(g, u.code, u.display), source }];
  if (u.mode === 'other-map' && u.url) {
    const other = byUrl.get(u.url.split('|')[0]!);
    // A chain that comes back to a map already visited would never end.
    if (!other || seen.has(other)) return [];
    return inMap(other, coding, q, byUrl, new Set([...seen, other]));
  }
  return [];
}

function concept(g: ConceptMapGroup, code: string, display?: string): Coding {
  return {
    ...(g.target !== undefined ? { system: g.target } : {}),
    ...(g.targetVersion !== undefined ? { version: g.targetVersion } : {}),
    code,
    ...(display !== undefined ? { display } : {}),
  };
}

/** A value-set canonical, compared without its `|version` (the maps name value sets unversioned). */
function canonicalIs(actual: string | undefined, wanted: string): boolean {
  return actual !== undefined && actual.split('|')[0] === wanted.split('|')[0];
}
