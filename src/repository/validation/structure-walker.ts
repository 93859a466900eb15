import {
  getDataType,
  tryGetDataType,
  type InternalSchemaElement,
  type InternalTypeSchema,
} from '@medplum/core';
import type { OperationOutcomeIssue } from 'fhir/r4';
import { isJsonNumber, numberText } from '../../kernel/fhir-json.ts';
import { dateRange } from '../index/date-range.ts';
import { PRIMITIVE_PATTERNS } from './primitive-patterns.ts';
import { requiredCodes } from './required-codes.ts';

/**
 * Structural validation of a resource against the R4 definitions, in one walk over the JSON:
 * unknown elements, JSON types, primitive formats (R4 regexes), arrays vs single values,
 * cardinality (min/max), one choice per `[x]`, required bindings on `code` elements, 32-bit
 * integers, real calendar dates, and nested resources (`contained`, `Bundle.entry.resource`).
 *
 * Why our own walk instead of a generic validator: at the door every resource of every
 * transaction is checked, and a validator that also evaluates every FHIRPath invariant costs
 * ~2.7 ms a resource here (the ingest's bottleneck); this walk costs tens of µs. Invariants
 * (and profiles) are checked where they matter — the mapping stage's profile validation.
 */
export function structureIssues(resource: Record<string, unknown>, path: string): OperationOutcomeIssue[] {
  const issues: OperationOutcomeIssue[] = [];
  walkResource(resource, path, issues);
  return issues;
}

const INTEGER_RANGE: Record<string, [number, number]> = {
  integer: [-2147483648, 2147483647],
  unsignedInt: [0, 2147483647],
  positiveInt: [1, 2147483647],
};
const DATE_TYPES = new Set(['date', 'dateTime', 'instant']);
const STRING_LIKE = new Set([
  'string',
  'markdown',
  'xhtml',
  'uri',
  'url',
  'canonical',
  'code',
  'id',
  'oid',
  'uuid',
  'base64Binary',
  'date',
  'dateTime',
  'instant',
  'time',
]);

function walkResource(value: unknown, path: string, issues: OperationOutcomeIssue[]): void {
  if (!isObject(value)) {
    issues.push(err('structure', 'A resource must be a JSON object', path));
    return;
  }
  const type = value.resourceType;
  const schema = typeof type === 'string' ? resourceSchema(type) : undefined;
  if (!schema) {
    issues.push(err('structure', `"${String(type)}" is not an R4 resource type`, `${path}.resourceType`));
    return;
  }
  if (value.id !== undefined && (typeof value.id !== 'string' || !/^[A-Za-z0-9\-.]{1,64}$/.test(value.id))) {
    issues.push(
      err('value', `"${String(value.id)}" is not a valid id (1-64 of A-Z a-z 0-9 - .)`, `${path}.id`),
    );
  }
  walkComplex(value, schema, path, issues, true);
}

function walkComplex(
  obj: Record<string, unknown>,
  schema: InternalTypeSchema,
  path: string,
  issues: OperationOutcomeIssue[],
  isResource = false,
): void {
  const keys = Object.keys(obj);
  if (keys.length === 0 || (keys.length === 1 && keys[0] === 'resourceType' && !isResource)) {
    issues.push(err('structure', 'An element must have a value or children (ele-1)', path));
    return;
  }
  const seenChoice = new Map<string, string>();
  for (const key of keys) {
    if (key === 'resourceType' && isResource) continue;
    const v = obj[key];
    if (key.startsWith('_')) {
      checkPrimitiveExtension(v, `${path}.${key}`, issues);
      continue;
    }
    const found = elementFor(schema, key);
    if (!found) {
      issues.push(err('structure', `Unknown element "${key}"`, `${path}.${key}`));
      continue;
    }
    const { element, typeCode, choice } = found;
    if (choice) {
      const other = seenChoice.get(choice);
      if (other)
        issues.push(
          err('structure', `Only one of ${other} and ${key} may be present (${choice}[x])`, `${path}.${key}`),
        );
      seenChoice.set(choice, key);
    }
    const at = `${path}.${key}`;
    if (element.isArray) {
      if (!Array.isArray(v)) {
        issues.push(err('structure', `Expected an array for ${key}`, at));
        continue;
      }
      if (v.length === 0) issues.push(err('structure', `Empty array for ${key} (leave the element out)`, at));
      if (element.max !== Infinity && v.length > element.max) {
        issues.push(err('structure', `At most ${element.max} ${key} allowed, found ${v.length}`, at));
      }
      v.forEach((item, i) =>
        walkValue(item, typeCode, element, `${at}[${i}]`, issues, Array.isArray(obj[`_${key}`])),
      );
    } else {
      if (Array.isArray(v)) {
        issues.push(err('structure', `Expected a single value for ${key}, not an array`, at));
        continue;
      }
      walkValue(v, typeCode, element, at, issues, obj[`_${key}`] !== undefined);
    }
  }
  for (const [name, element] of Object.entries(schema.elements)) {
    if (element.min < 1) continue;
    const present = name.endsWith('[x]')
      ? keys.some(
          (k) => k.startsWith(name.slice(0, -3)) && elementFor(schema, k)?.choice === name.slice(0, -3),
        )
      : obj[name] !== undefined || obj[`_${name}`] !== undefined;
    if (!present)
      issues.push(err('required', `Missing required element ${name}`, `${path}.${name.replace('[x]', '')}`));
  }
}

function walkValue(
  v: unknown,
  typeCode: string,
  element: InternalSchemaElement,
  at: string,
  issues: OperationOutcomeIssue[],
  hasPrimitiveExtension: boolean,
): void {
  if (v === null) {
    // JSON null is allowed only inside arrays of primitives whose extensions fill the gap.
    if (!hasPrimitiveExtension) issues.push(err('structure', 'null is not a FHIR value', at));
    return;
  }
  // `Resource` (contained, Bundle.entry.resource) or a named resource type (Bundle.entry.response.outcome).
  if (typeCode === 'Resource' || resourceSchema(typeCode)) return walkResource(v, at, issues);
  const range = INTEGER_RANGE[typeCode];
  if (range) return checkInteger(v, typeCode, range, at, issues);
  if (typeCode === 'decimal') {
    if (!isJsonNumber(v)) issues.push(err('structure', `Expected a number, got ${jsonType(v)}`, at));
    return;
  }
  if (typeCode === 'boolean') {
    if (typeof v !== 'boolean')
      issues.push(err('structure', `Expected true or false, got ${jsonType(v)}`, at));
    return;
  }
  if (STRING_LIKE.has(typeCode)) return checkString(v, typeCode, element, at, issues);
  const schema = complexSchema(typeCode);
  if (!schema) return; // a type the definitions do not describe: nothing more to check
  if (!isObject(v)) {
    issues.push(err('structure', `Expected an object (${typeCode}), got ${jsonType(v)}`, at));
    return;
  }
  walkComplex(v, schema, at, issues);
}

function checkString(
  v: unknown,
  typeCode: string,
  element: InternalSchemaElement,
  at: string,
  issues: OperationOutcomeIssue[],
): void {
  if (typeof v !== 'string') {
    issues.push(err('structure', `Expected a string (${typeCode}), got ${jsonType(v)}`, at));
    return;
  }
  // Empty strings, NUL and lone surrogates are reported for every string by stringIssues.
  if (v === '') return;
  const pattern = PRIMITIVE_PATTERNS[typeCode];
  if (pattern && !pattern.test(v)) {
    issues.push(err('value', `"${clip(v)}" is not a valid ${typeCode}`, at));
    return;
  }
  if (DATE_TYPES.has(typeCode) && dateRange(v) === undefined) {
    issues.push(err('value', `"${v}" is not a valid ${typeCode} (no such day)`, at));
    return;
  }
  if (typeCode === 'code' && element.binding?.strength === 'required' && element.binding.valueSet) {
    const codes = requiredCodes(element.binding.valueSet);
    if (codes && !codes.has(v)) {
      const shown = codes.size <= 12 ? ` (one of ${[...codes].join(', ')})` : '';
      issues.push({
        severity: 'error',
        code: 'code-invalid',
        diagnostics: `"${clip(v)}" is not in the required value set ${element.binding.valueSet.split('|')[0]}${shown}`,
        expression: [at],
      });
    }
  }
}

function checkInteger(
  v: unknown,
  type: string,
  [min, max]: [number, number],
  at: string,
  issues: OperationOutcomeIssue[],
): void {
  const text = numberText(v);
  if (text === undefined) {
    issues.push(err('structure', `Expected a whole number (${type}), got ${jsonType(v)}`, at));
    return;
  }
  const ok =
    /^-?\d+$/.test(text) && Number(text) >= min && Number(text) <= max && Number.isSafeInteger(Number(text));
  if (!ok)
    issues.push(err('value', `${text} is not a valid ${type} (a whole number from ${min} to ${max})`, at));
}

/** `_birthDate`: an Element (id, extension) or, for arrays, an array of Elements / nulls. */
function checkPrimitiveExtension(v: unknown, at: string, issues: OperationOutcomeIssue[]): void {
  const element = complexSchema('Element');
  const check = (item: unknown, p: string) => {
    if (item === null) return;
    if (!isObject(item) || !element) issues.push(err('structure', 'Expected an object with id/extension', p));
    else walkComplex(item, element, p, issues);
  };
  if (Array.isArray(v)) v.forEach((item, i) => check(item, `${at}[${i}]`));
  else check(v, at);
}

interface FoundElement {
  element: InternalSchemaElement;
  typeCode: string;
  /** The choice's base name (`value` for `valueQuantity`). */
  choice?: string;
}

const elementCache = new Map<InternalTypeSchema, Map<string, FoundElement | null>>();

/** The element a JSON property names, resolving choice types (`valueQuantity` → value[x] as Quantity). */
function elementFor(schema: InternalTypeSchema, key: string): FoundElement | undefined {
  let cache = elementCache.get(schema);
  if (!cache) elementCache.set(schema, (cache = new Map()));
  const hit = cache.get(key);
  if (hit !== undefined) return hit ?? undefined;
  let found: FoundElement | undefined;
  const direct = schema.elements[key];
  if (direct && direct.type.length >= 1) found = { element: direct, typeCode: direct.type[0]!.code };
  else {
    for (const [name, el] of Object.entries(schema.elements)) {
      if (!name.endsWith('[x]')) continue;
      const base = name.slice(0, -3);
      if (!key.startsWith(base)) continue;
      const suffix = key.slice(base.length);
      const t = el.type.find((t) => t.code.charAt(0).toUpperCase() + t.code.slice(1) === suffix);
      if (t) {
        found = { element: el, typeCode: t.code, choice: base };
        break;
      }
    }
  }
  cache.set(key, found ?? null);
  return found;
}

const schemaCache = new Map<string, InternalTypeSchema | null>();

function complexSchema(typeName: string): InternalTypeSchema | undefined {
  const hit = schemaCache.get(typeName);
  if (hit !== undefined) return hit ?? undefined;
  let schema: InternalTypeSchema | undefined;
  try {
    schema = tryGetDataType(typeName) ?? getDataType(typeName);
  } catch {
    schema = undefined;
  }
  schemaCache.set(typeName, schema ?? null);
  return schema;
}

function resourceSchema(type: string): InternalTypeSchema | undefined {
  const schema = complexSchema(type);
  return schema?.kind === 'resource' ? schema : undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && numberText(v) === undefined;
}

function jsonType(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  if (isJsonNumber(v)) return 'a number';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function err(
  code: OperationOutcomeIssue['code'],
  diagnostics: string,
  expression: string,
): OperationOutcomeIssue {
  return { severity: 'error', code, diagnostics, expression: [expression] };
}
