import { validateResource } from '@medplum/core';
import type { OperationOutcomeIssue, Resource } from 'fhir/r4';
import { toPlainNumbers } from '../../kernel/fhir-json.ts';
import type { FhirModel } from '../fhir-model.ts';
import { typedValueIssues, stringIssues } from './primitive-checks.ts';

export interface ValidateOptions {
  /** Where the resource sits, for `expression`: `Bundle.entry[3].resource`. Default: its type. */
  pathPrefix?: string;
}

/**
 * Checks a resource against the R4 base definitions and returns every issue found, each with
 * an `expression` naming the element. An unknown `resourceType` is one error (nothing else
 * can be checked without its definition).
 */
export function validateStructure(
  model: FhirModel,
  resource: Record<string, unknown>,
  opts: ValidateOptions = {},
): OperationOutcomeIssue[] {
  const type = resource.resourceType;
  const prefix = opts.pathPrefix ?? (typeof type === 'string' ? type : 'resource');
  if (typeof type !== 'string' || !model.isResourceType(type)) {
    return [
      {
        severity: 'error',
        code: 'structure',
        diagnostics: `"${String(type)}" is not an R4 resource type`,
        expression: [`${prefix}.resourceType`],
      },
    ];
  }
  const issues = [...stringIssues(resource, prefix), ...typedValueIssues(resource, prefix)];
  // The base validator understands plain JSON numbers only; exact decimal text is kept elsewhere.
  for (const i of baseIssues(toPlainNumbers(resource) as unknown as Resource)) {
    if (isWhitespaceInBase64(i, resource)) continue;
    issues.push(relocate(i, type, prefix));
  }
  return dedupeByPlace(issues);
}

function baseIssues(resource: Resource): OperationOutcomeIssue[] {
  try {
    return validateResource(resource);
  } catch (err) {
    const issues = (err as { outcome?: { issue?: OperationOutcomeIssue[] } }).outcome?.issue;
    if (!issues) throw err;
    return issues.map((i) => ({ ...i, diagnostics: i.diagnostics ?? i.details?.text }));
  }
}

/**
 * R4's base64Binary pattern allows whitespace between groups (line-wrapped attachments, as in
 * the spec's own examples); the generic validator does not. Such a value is valid R4.
 */
function isWhitespaceInBase64(i: OperationOutcomeIssue, resource: Record<string, unknown>): boolean {
  if (i.details?.text !== 'Invalid base64Binary format' || !i.expression?.[0]) return false;
  const value = valueAt(resource, i.expression[0]);
  return typeof value === 'string' && /^(\s*([0-9a-zA-Z+/=]){4}\s*)+$/.test(value);
}

/** The value at a validator path such as `DiagnosticReport.presentedForm[0].data`. */
function valueAt(resource: Record<string, unknown>, path: string): unknown {
  let current: unknown = resource;
  for (const step of path.split('.').slice(1)) {
    const m = /^([^[]+)(?:\[(\d+)\])?$/.exec(step);
    if (!m || current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[m[1]!];
    if (m[2] !== undefined) current = Array.isArray(current) ? current[Number(m[2])] : undefined;
  }
  return current;
}

/** Rewrites `Patient.name[0]` to `Bundle.entry[2].resource.name[0]` when a prefix is given. */
function relocate(i: OperationOutcomeIssue, type: string, prefix: string): OperationOutcomeIssue {
  if (prefix === type || !i.expression) return i;
  return {
    ...i,
    expression: i.expression.map((e) =>
      e === type || e.startsWith(`${type}.`) ? prefix + e.slice(type.length) : e,
    ),
  };
}

/** Our own checks and the base validator may both see a bad string; report each place once. */
function dedupeByPlace(issues: OperationOutcomeIssue[]): OperationOutcomeIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    if (i.severity !== 'error') return true;
    const key = (i.expression ?? []).join(',');
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
