import type { OperationOutcomeIssue } from 'fhir/r4';
import { numberText } from '../../kernel/fhir-json.ts';

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
