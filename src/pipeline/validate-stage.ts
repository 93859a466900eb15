import type { Bundle } from 'fhir/r4';
import type { FhirModel } from '../repository/fhir-model.ts';
import { validateStructure } from '../repository/validation/index.ts';
import type { MappingProblem } from '../mapping/types.ts';
import { labelBundle, type SensitivityRules } from '../mapping/sensitivity/index.ts';

/**
 * Every resource the mapping produced is checked before the sender is answered, so an error
 * reaches the sender now, with its place, instead of failing later in the worker.
 * (Profile validation against `profiles/` joins here with the mapping issue.)
 */
export function validateMappedBundle(model: FhirModel, bundle: Bundle): MappingProblem[] {
  const problems: MappingProblem[] = [];
  (bundle.entry ?? []).forEach((entry, i) => {
    if (!entry.resource) return;
    for (const issue of validateStructure(model, entry.resource as any, {
      pathPrefix: `Bundle.entry[${i}].resource`,
    })) {
      problems.push({
        severity: issue.severity === 'error' || issue.severity === 'fatal' ? 'error' : 'warning',
        text: issue.diagnostics ?? issue.details?.text ?? issue.code,
        expression: issue.expression?.[0],
      });
    }
  });
  return problems;
}

/**
 * The last stage before archiving, the same for every format: sensitivity labels from the rule
 * table in `mappings/sensitivity/` (consent filtering depends on them), then validation.
 */
export function checkMapped(
  env: { model: FhirModel; sensitivity?: SensitivityRules },
  bundle: Bundle,
): MappingProblem[] {
  if (env.sensitivity) labelBundle(bundle, env.sensitivity);
  return validateMappedBundle(env.model, bundle);
}
