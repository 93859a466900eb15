import { getDataType, tryGetDataType, type InternalTypeSchema } from '@medplum/core';
import type { OperationOutcomeIssue } from 'fhir/r4';
import { numberText } from '../../kernel/fhir-json.ts';
import { dateRange } from '../index/date-range.ts';
import { requiredCodes } from './required-codes.ts';

const DATE_TYPES = new Set(['date', 'dateTime', 'instant']);

/** FHIR integer kinds and their ranges; all are 32-bit signed at most (R4 §2.24.0.1). */
const INTEGER_RANGE: Record<string, [bigint, bigint]> = {
  integer: [-(2n ** 31n), 2n ** 31n - 1n],
  unsignedInt: [0n, 2n ** 31n - 1n],
  positiveInt: [1n, 2n ** 31n - 1n],
};

/**
 * Integer and date values checked against their element's type. Why here: JSON numbers carry no type,
 * JavaScript reads 2^40 without complaint, and the generic validator checks "is a number" only.
 * Walks the resource with the R4 type schema so `multipleBirthInteger`, `SampledData.dimensions`
 * and nested backbone elements are all found.
 */
export function typedValueIssues(resource: Record<string, unknown>, path: string): OperationOutcomeIssue[] {
  const issues: OperationOutcomeIssue[] = [];
  walkTyped(resource, String(resource.resourceType), path, issues);
  return issues;
}

function walkTyped(value: unknown, typeName: string, path: string, issues: OperationOutcomeIssue[]): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
  const schema = schemaOf(typeName);
  if (!schema) return;
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (key === 'resourceType' || key.startsWith('_')) continue;
    const property = typeOfProperty(schema, key);
    if (!property) continue; // unknown properties are the structural validator's to report
    const elementType = property.code;
    const items = Array.isArray(v) ? v : [v];
    items.forEach((item, i) => {
      const at = Array.isArray(v) ? `${path}.${key}[${i}]` : `${path}.${key}`;
      const range = INTEGER_RANGE[elementType];
      if (range) checkInteger(item, elementType, range, at, issues);
      else if (DATE_TYPES.has(elementType)) checkCalendar(item, elementType, at, issues);
      else if (elementType === 'code' && property.requiredValueSet)
        checkCode(item, property.requiredValueSet, at, issues);
      else if (elementType === 'Resource') {
        const rt = (item as { resourceType?: unknown } | null)?.resourceType;
        if (typeof rt === 'string') walkTyped(item, rt, at, issues);
      } else walkTyped(item, elementType, at, issues);
    });
  }
}

function checkInteger(
  value: unknown,
  type: string,
  [min, max]: [bigint, bigint],
  path: string,
  issues: OperationOutcomeIssue[],
): void {
  const text = numberText(value);
  if (text === undefined) return; // wrong JSON type: reported by the structural validator
  const ok = /^-?\d+$/.test(text) && BigInt(text) >= min && BigInt(text) <= max;
  if (!ok) {
    issues.push({
      severity: 'error',
      code: 'value',
      diagnostics: `${text} is not a valid ${type} (a whole number from ${min} to ${max})`,
      expression: [path],
    });
  }
}

function checkCode(value: unknown, valueSet: string, path: string, issues: OperationOutcomeIssue[]): void {
  if (typeof value !== 'string') return;
  const codes = requiredCodes(valueSet);
  if (!codes || codes.has(value)) return;
  const shown = codes.size <= 12 ? ` (one of ${[...codes].join(', ')})` : '';
  issues.push({
    severity: 'error',
    code: 'code-invalid',
    diagnostics: `"${value}" is not in the required value set ${valueSet.split('|')[0]}${shown}`,
    expression: [path],
  });
}

/** Format is the base validator's check; whether the day exists (no 30 February) is ours. */
function checkCalendar(value: unknown, type: string, path: string, issues: OperationOutcomeIssue[]): void {
  if (typeof value !== 'string' || dateRange(value) !== undefined) return;
  issues.push({
    severity: 'error',
    code: 'value',
    diagnostics: `"${value}" is not a valid ${type}`,
    expression: [path],
  });
}

const schemaCache = new Map<string, InternalTypeSchema | undefined>();

function schemaOf(typeName: string): InternalTypeSchema | undefined {
  if (schemaCache.has(typeName)) return schemaCache.get(typeName);
  let schema: InternalTypeSchema | undefined;
  try {
    schema = tryGetDataType(typeName) ?? getDataType(typeName);
  } catch {
    schema = undefined;
  }
  schemaCache.set(typeName, schema);
  return schema;
}

interface PropertyType {
  code: string;
  /** The value set of a `required` binding, if any. */
  requiredValueSet?: string;
}

/** The type of a property, resolving choice elements (`valueInteger` → `integer`). */
function typeOfProperty(schema: InternalTypeSchema, key: string): PropertyType | undefined {
  const direct = schema.elements[key];
  if (direct) {
    if (direct.type.length !== 1) return undefined;
    const binding = direct.binding;
    return binding?.strength === 'required' && binding.valueSet
      ? { code: direct.type[0]!.code, requiredValueSet: binding.valueSet }
      : { code: direct.type[0]!.code };
  }
  for (const [name, el] of Object.entries(schema.elements)) {
    if (!name.endsWith('[x]')) continue;
    const prefix = name.slice(0, -3);
    if (!key.startsWith(prefix)) continue;
    const suffix = key.slice(prefix.length);
    const t = el.type.find((t) => t.code.charAt(0).toUpperCase() + t.code.slice(1) === suffix);
    if (t) return { code: t.code };
  }
  return undefined;
}

/**
 * Every string in the resource: FHIR forbids empty strings (send nothing instead), and text
 * with a lone UTF-16 surrogate cannot be stored as UTF-8 — PostgreSQL would refuse it later,
 * so it is refused here with the element named.
 */
export function stringIssues(
  value: unknown,
  path: string,
  issues: OperationOutcomeIssue[] = [],
): OperationOutcomeIssue[] {
  if (typeof value === 'string') {
    if (value === '') {
      issues.push({
        severity: 'error',
        code: 'value',
        diagnostics: 'Empty strings are not allowed in FHIR; omit the element',
        expression: [path],
      });
    } else if (!value.isWellFormed()) {
      issues.push({
        severity: 'error',
        code: 'value',
        diagnostics: 'The string holds a lone UTF-16 surrogate (not valid Unicode text)',
        expression: [path],
      });
    } else if (value.includes('\u0000')) {
      issues.push({
        severity: 'error',
        code: 'value',
        diagnostics: 'The string holds a NUL character (U+0000)',
        expression: [path],
      });
    }
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => stringIssues(v, `${path}[${i}]`, issues));
  } else if (value !== null && typeof value === 'object' && numberText(value) === undefined) {
    for (const [k, v] of Object.entries(value)) {
      if (!k.isWellFormed()) {
        issues.push({
          severity: 'error',
          code: 'structure',
          diagnostics: 'A property name holds a lone surrogate',
          expression: [path],
        });
        continue;
      }
      stringIssues(v, `${path}.${k}`, issues);
    }
  }
  return issues;
}
