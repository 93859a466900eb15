import type { OperationOutcomeIssue } from 'fhir/r4';
import type { FhirModel } from '../fhir-model.ts';
import { walkResource } from './structure-walker.ts';
import { Walk } from './walk-context.ts';

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
  const w = new Walk(prefix);
  walkResource(w, resource);
  if (w.strings.length + w.structure.length === 0) return [];
  return dedupeByPlace([...w.strings, ...w.structure]);
}

/** Two checks may see the same bad value (an empty code is empty and not a code): report each place once. */
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
