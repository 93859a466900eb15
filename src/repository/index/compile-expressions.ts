import { parseFhirPath, type FhirPathAtom } from '@medplum/core';
import type { SearchParameter } from 'fhir/r4';
import type { FhirModel } from '../fhir-model.ts';

/** One search parameter of one resource type, its expression parsed once for that type. */
export interface CompiledParam {
  code: string;
  type: SearchParameter['type'];
  atom: FhirPathAtom;
  /**
   * When the expression is only element names (`Observation.code | Observation.subject`), maybe
   * with a type cast (`(Observation.value as Quantity)`) or a reference's target type
   * (`Observation.subject.where(resolve() is Patient)`): each path's steps after the type, for
   * `followPaths` — what most parameters are, found without the FHIRPath evaluator.
   */
  paths?: PathStep[][];
}

/** An element name, or a filter on the values reached so far. */
export type PathStep = string | { ofType: string } | { resolvesTo: string };

/** Parameters the `resource` table already answers (`_id`, `_lastUpdated`): never indexed twice. */
const FROM_RESOURCE_TABLE = new Set(['_id', '_lastUpdated']);

const compiled = new WeakMap<FhirModel, Map<string, CompiledParam[]>>();

/**
 * The parameters to index for a type, with expressions narrowed to that type.
 *
 * Why narrow: R4 shares one SearchParameter between many types (`clinical-patient` is a union
 * over 30 types); evaluating the whole union on every Observation costs ~0.5 ms per parameter,
 * the narrowed path a few µs. Why rewrite `Resource.`: FHIRPath evaluators match a leading type
 * name against the resource's own type, so `Resource.meta.tag` finds nothing on an Observation.
 */
export function compiledParams(model: FhirModel, resourceType: string): CompiledParam[] {
  let byType = compiled.get(model);
  if (!byType) compiled.set(model, (byType = new Map()));
  let list = byType.get(resourceType);
  if (list) return list;
  list = [];
  for (const sp of model.searchParameters(resourceType).values()) {
    if (FROM_RESOURCE_TABLE.has(sp.code) || !sp.expression) continue;
    const expression = narrowExpression(sp.expression, resourceType);
    if (expression === undefined) continue;
    const paths = elementPaths(expression, resourceType);
    list.push({ code: sp.code, type: sp.type, atom: parseFhirPath(expression), ...(paths ? { paths } : {}) });
  }
  byType.set(resourceType, list);
  return list;
}

/**
 * `Type.a.b | Type.c` → [['a', 'b'], ['c']], also `(Type.a as X).b` and
 * `Type.a.where(resolve() is X)`; undefined when any part is anything else.
 */
function elementPaths(expression: string, resourceType: string): PathStep[][] | undefined {
  const paths: PathStep[][] = [];
  for (const part of splitTopLevelUnion(expression)) {
    const steps = pathSteps(part.trim(), resourceType);
    if (!steps) return undefined;
    paths.push(steps);
  }
  return paths;
}

const NAMES = String.raw`((?:\.[a-z][A-Za-z0-9]*)+)`;
const CAST = new RegExp(
  String.raw`^\(\s*([A-Za-z]+)${NAMES}\s+as\s+([A-Za-z]+)\s*\)((?:\.[a-z][A-Za-z0-9]*)*)$`,
);
const RESOLVES = new RegExp(String.raw`^([A-Za-z]+)${NAMES}\.where\(resolve\(\) is ([A-Z][A-Za-z]*)\)$`);
const PLAIN = new RegExp(String.raw`^([A-Za-z]+)${NAMES}$`);

function pathSteps(part: string, resourceType: string): PathStep[] | undefined {
  const names = (dotted: string) => (dotted ? dotted.slice(1).split('.') : []);
  let m = PLAIN.exec(part);
  if (m) return m[1] === resourceType ? names(m[2]!) : undefined;
  m = CAST.exec(part);
  if (m) return m[1] === resourceType ? [...names(m[2]!), { ofType: m[3]! }, ...names(m[4]!)] : undefined;
  m = RESOLVES.exec(part);
  if (m) return m[1] === resourceType ? [...names(m[2]!), { resolvesTo: m[3]! }] : undefined;
  return undefined;
}

/** The union's parts that apply to `resourceType`, joined again; undefined when none does. */
export function narrowExpression(expression: string, resourceType: string): string | undefined {
  const parts = splitTopLevelUnion(expression)
    .map((p) => p.trim())
    .filter((p) => {
      const head = /^\(*\s*([A-Za-z]+)\./.exec(p)?.[1];
      return head === undefined || head === resourceType || head === 'Resource' || head === 'DomainResource';
    })
    .map((p) => p.replace(/^(\(*\s*)(?:Resource|DomainResource)\./, `$1${resourceType}.`));
  return parts.length === 0 ? undefined : parts.join(' | ');
}

/** Splits on `|` outside parentheses and quoted strings. */
function splitTopLevelUnion(expression: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < expression.length; i++) {
    const c = expression[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === "'" || c === '`') quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) {
      parts.push(expression.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(expression.slice(start));
  return parts;
}
