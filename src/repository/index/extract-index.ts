import { evalFhirPathTyped, getTypedPropertyValue, toTypedValue, type TypedValue } from '@medplum/core';
import { numberText } from '../../kernel/fhir-json.ts';
import type { FhirModel } from '../fhir-model.ts';
import { normalizeSearchString } from '../search/param-values.ts';
import type { IndexRows } from '../types.ts';
import { compiledParams, type CompiledParam, type PathStep } from './compile-expressions.ts';
import { dateRange } from './date-range.ts';

/**
 * PostgreSQL B-tree entries hold at most ~2.7 kB; indexed text is cut at 600 code points
 * (≤ 2.4 kB even in 4-byte UTF-8). Search values that long are not what anyone types.
 */
const MAX_INDEXED_CHARS = 600;

/**
 * The search-index rows of one resource: every indexed search parameter of its type evaluated
 * (FHIRPath, R4 expressions) and turned into rows of the tables in `001-repository.sql`, plus
 * the Patients whose compartment holds it. `baseUrl` lets absolute references to this server
 * index like relative ones.
 */
export function extractIndexRows(
  model: FhirModel,
  resource: Record<string, any>,
  baseUrl?: string,
  evaluate: (p: CompiledParam, input: TypedValue[]) => TypedValue[] = evaluateParam,
): IndexRows {
  const rows: IndexRows = {
    token: [],
    string: [],
    date: [],
    reference: [],
    number: [],
    quantity: [],
    uri: [],
    compartments: [],
  };
  const type = resource.resourceType as string;
  const input = [toTypedValue(resource)];
  for (const p of compiledParams(model, type)) {
    let values: TypedValue[];
    try {
      values = evaluate(p, input);
    } catch {
      // An expression that cannot run on this content indexes nothing; validation judged the content.
      continue;
    }
    for (const v of values) addValue(rows, p.code, p.type, v, baseUrl);
  }
  rows.compartments = compartmentsOf(model, type, resource, rows);
  return dedupe(rows);
}

/** A parameter's values: plain element paths followed directly, anything else through FHIRPath. */
function evaluateParam(p: CompiledParam, input: TypedValue[]): TypedValue[] {
  return p.paths ? followPaths(p.paths, input) : evalFhirPathTyped(p.atom, input);
}

/**
 * What FHIRPath gives for `Type.a.b | Type.c` on a resource of that type, found with the same
 * typed property look-up its evaluator uses, minus the evaluator's own work (~3 µs a parameter,
 * about three quarters of a resource's extraction). A cast keeps the values of that type, as the
 * evaluator's `as` does; `where(resolve() is X)` keeps the references `resolveTarget` reads as X.
 * Unions are not de-duplicated here: `dedupe` makes the rows unique anyway.
 */
function followPaths(paths: PathStep[][], input: TypedValue[]): TypedValue[] {
  const out: TypedValue[] = [];
  for (const path of paths) {
    let current = input;
    for (const step of path) {
      if (typeof step !== 'string') {
        current =
          'ofType' in step
            ? current.filter((v) => v.type === step.ofType)
            : current.filter((v) => resolveTarget(v.value) === step.resolvesTo);
        continue;
      }
      const next: TypedValue[] = [];
      for (const v of current) {
        if (!v.value || typeof v.value !== 'object') continue;
        const found = getTypedPropertyValue(v, step);
        if (Array.isArray(found)) {
          for (const f of found) if (f?.value !== undefined) next.push(f);
        } else if (found?.value !== undefined) next.push(found);
      }
      current = next;
    }
    // As the evaluator answers: a LosslessNumber's valueOf is its number.
    for (const v of current) out.push({ type: v.type, value: v.value?.valueOf() });
  }
  return out;
}

/**
 * The resource type FHIRPath's `resolve()` (the evaluator we index with) reads from a reference
 * without fetching it: an inline `resource`'s type, else the text before `?` of a conditional
 * reference, else the first segment of `Type/id` (so an absolute URL or `#contained` reads as no
 * type), with `type` + `identifier` read as a conditional reference.
 */
function resolveTarget(value: unknown): string | undefined {
  let text: string | undefined;
  if (typeof value === 'string') text = value;
  else if (value && typeof value === 'object') {
    const ref = value as {
      resource?: { resourceType?: unknown };
      reference?: string;
      type?: string;
      identifier?: unknown;
    };
    if (ref.resource)
      return typeof ref.resource.resourceType === 'string' ? ref.resource.resourceType : undefined;
    if (ref.reference) text = ref.reference;
    else if (ref.type && ref.identifier) return ref.type;
  }
  if (text?.includes('?')) return text.split('?')[0];
  if (text?.includes('/')) return text.split('/')[0];
  return undefined;
}

function addValue(
  rows: IndexRows,
  code: string,
  kind: string,
  v: TypedValue,
  baseUrl: string | undefined,
): void {
  const value = v.value as any;
  if (value === undefined || value === null) return;
  switch (kind) {
    case 'token':
      return addToken(rows, code, v.type, value);
    case 'string':
      return addStrings(rows, code, v.type, value);
    case 'date':
      return addDate(rows, code, v.type, value);
    case 'reference':
      return addReference(rows, code, v.type, value, baseUrl);
    case 'number': {
      const n = numberText(value);
      if (n !== undefined) rows.number.push({ code, value: n });
      return;
    }
    case 'quantity':
      return addQuantity(rows, code, value);
    case 'uri':
      if (typeof value === 'string') rows.uri.push({ code, value: cut(value) });
      return;
  }
}

function addToken(rows: IndexRows, code: string, type: string, value: any): void {
  const push = (system: unknown, v: unknown, text: unknown) => {
    const sys = typeof system === 'string' ? system : null;
    const val = typeof v === 'string' ? cut(v) : typeof v === 'boolean' ? String(v) : null;
    const txt = typeof text === 'string' ? cut(text) : null;
    if (sys !== null || val !== null || txt !== null)
      rows.token.push({ code, system: sys, value: val, text: txt });
  };
  switch (type) {
    case 'CodeableConcept': {
      const codings: any[] = Array.isArray(value.coding) ? value.coding : [];
      for (const c of codings) push(c.system, c.code, c.display ?? value.text);
      if (codings.length === 0 && typeof value.text === 'string') push(null, null, value.text);
      return;
    }
    case 'Coding':
      return push(value.system, value.code, value.display);
    case 'Identifier':
      return push(value.system, value.value, value.type?.text);
    case 'ContactPoint':
      return push(null, value.value, undefined);
    default:
      // code, boolean, string, id, uri …: the value itself, without a system.
      if (typeof value === 'string' || typeof value === 'boolean') push(null, value, undefined);
  }
}

function addStrings(rows: IndexRows, code: string, type: string, value: any): void {
  const texts: unknown[] = [];
  if (typeof value === 'string') texts.push(value);
  else if (type === 'HumanName') {
    texts.push(
      value.text,
      value.family,
      ...(value.given ?? []),
      ...(value.prefix ?? []),
      ...(value.suffix ?? []),
    );
  } else if (type === 'Address') {
    texts.push(
      value.text,
      ...(value.line ?? []),
      value.city,
      value.district,
      value.state,
      value.postalCode,
      value.country,
    );
  }
  for (const t of texts) {
    if (typeof t !== 'string' || t.trim() === '') continue;
    const exact = cut(t);
    const norm = cut(normalizeSearchString(t));
    rows.string.push({ code, norm, exact, grams: grams(norm) });
  }
}

/** The one- and two-character pieces that `:contains` looks up through the GIN index. */
function grams(norm: string): string[] {
  const chars = Array.from(norm);
  const out = new Set<string>(chars);
  for (let i = 0; i + 1 < chars.length; i++) out.add(chars[i]! + chars[i + 1]!);
  return [...out];
}

function addDate(rows: IndexRows, code: string, type: string, value: any): void {
  if (typeof value === 'string') {
    const r = dateRange(value);
    if (r) rows.date.push({ code, ...r });
    return;
  }
  if (type === 'Period') {
    const lo = typeof value.start === 'string' ? dateRange(value.start)?.lo : undefined;
    const hi = typeof value.end === 'string' ? dateRange(value.end)?.hi : undefined;
    if (lo !== undefined || hi !== undefined)
      rows.date.push({ code, lo: lo ?? '-infinity', hi: hi ?? 'infinity' });
    return;
  }
  if (type === 'Timing') {
    for (const e of value.event ?? []) if (typeof e === 'string') addDate(rows, code, 'dateTime', e);
  }
}

function addReference(
  rows: IndexRows,
  code: string,
  type: string,
  value: any,
  baseUrl: string | undefined,
): void {
  if (typeof value === 'string') {
    // canonical / uri parameters of kind reference
    rows.reference.push({ code, targetType: null, targetId: null, url: cut(value) });
    return;
  }
  if (type !== 'Reference' && typeof value.reference !== 'string' && !value.identifier) return;
  if (typeof value.reference === 'string') {
    const ref = value.reference as string;
    const local = localTarget(ref, baseUrl);
    if (local) rows.reference.push({ code, targetType: local.type, targetId: local.id, url: null });
    else if (!ref.startsWith('#'))
      rows.reference.push({ code, targetType: null, targetId: null, url: cut(ref) });
  }
  const ident = value.identifier;
  if (ident && (typeof ident.value === 'string' || typeof ident.system === 'string')) {
    rows.token.push({
      code: `${code}:identifier`,
      system: typeof ident.system === 'string' ? ident.system : null,
      value: typeof ident.value === 'string' ? cut(ident.value) : null,
      text: null,
    });
  }
}

function localTarget(ref: string, baseUrl: string | undefined): { type: string; id: string } | undefined {
  const rel = baseUrl && ref.startsWith(`${baseUrl}/`) ? ref.slice(baseUrl.length + 1) : ref;
  const m = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]+)?$/.exec(rel);
  return m ? { type: m[1]!, id: m[2]! } : undefined;
}

function addQuantity(rows: IndexRows, code: string, value: any): void {
  const n = numberText(value.value);
  if (n === undefined) return;
  const system = typeof value.system === 'string' ? value.system : null;
  const unitCode =
    typeof value.code === 'string' ? value.code : typeof value.currency === 'string' ? value.currency : null;
  const unitText = typeof value.unit === 'string' ? value.unit : null;
  rows.quantity.push({ code, value: n, system, unit: unitCode ?? unitText });
  // `5.4||mmHg` (no system) may name the human unit rather than the code: index both spellings.
  if (unitCode !== null && unitText !== null && unitText !== unitCode) {
    rows.quantity.push({ code, value: n, system: null, unit: unitText });
  }
}

/** Patients whose compartment holds the resource (R4 CompartmentDefinition `patient`). */
function compartmentsOf(
  model: FhirModel,
  type: string,
  resource: Record<string, any>,
  rows: IndexRows,
): string[] {
  if (type === 'Patient') return typeof resource.id === 'string' ? [resource.id] : [];
  const params = new Set(model.patientCompartmentParams(type));
  if (params.size === 0) return [];
  const ids = new Set<string>();
  for (const r of rows.reference) {
    if (params.has(r.code) && r.targetType === 'Patient' && r.targetId) ids.add(r.targetId);
  }
  return [...ids];
}

function cut(text: string): string {
  if (text.length <= MAX_INDEXED_CHARS) return text;
  return Array.from(text).slice(0, MAX_INDEXED_CHARS).join('');
}

/** The same value reached by two paths (e.g. `code` and `combo-code`) is one row per code. */
function dedupe(rows: IndexRows): IndexRows {
  const uniq = <T>(list: T[], key: (x: T) => string) => {
    const seen = new Set<string>();
    return list.filter((x) => {
      const k = key(x);
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  };
  return {
    token: uniq(rows.token, (r) => `${r.code}\u0001${r.system}\u0001${r.value}\u0001${r.text}`),
    string: uniq(rows.string, (r) => `${r.code}\u0001${r.exact}`),
    date: uniq(rows.date, (r) => `${r.code}\u0001${r.lo}\u0001${r.hi}`),
    reference: uniq(rows.reference, (r) => `${r.code}\u0001${r.targetType}\u0001${r.targetId}\u0001${r.url}`),
    number: uniq(rows.number, (r) => `${r.code}\u0001${r.value}`),
    quantity: uniq(rows.quantity, (r) => `${r.code}\u0001${r.value}\u0001${r.system}\u0001${r.unit}`),
    uri: uniq(rows.uri, (r) => `${r.code}\u0001${r.value}`),
    compartments: rows.compartments,
  };
}
