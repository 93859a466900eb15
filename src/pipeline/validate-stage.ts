import type { Bundle, OperationOutcomeIssue } from 'fhir/r4';
import type { FhirModel } from '../repository/fhir-model.ts';
import type { MappedMessage, MappingProblem } from '../mapping/types.ts';
import { labelBundle, type SensitivityRules } from '../mapping/sensitivity/index.ts';
import { knownProfiles, validateResource, type ProfileRegistry } from '../validate/index.ts';
import { tagUnverifiedNationalIds } from '../validate/unverified-tag.ts';
import { problemIssue } from './outcomes.ts';

/** CONTRACTS.md `{base}` when the caller names none. */
const DEFAULT_CANONICAL_BASE = 'https://county-hie.org/fhir';

export interface ValidateStageOptions {
  /** The profiles to enforce; default: the ones shipped in `profiles/`. */
  registry?: ProfileRegistry;
  /** For the `identifier-verification` extension's URL. */
  canonicalBase?: string;
}

/**
 * Every resource the mapping produced is checked before the sender is answered, so an error
 * reaches the sender now, with its place, instead of failing later in the worker: base R4
 * structure, the region's profile for its type (`profiles/`), and any profile it claims.
 * A national ID that fails verification is tagged `unverified` here if the mapping did not,
 * and reported as a warning; it never refuses the message.
 */
export function validateMappedBundle(
  model: FhirModel,
  bundle: Bundle,
  opts: ValidateStageOptions = {},
): MappingProblem[] {
  const registry = opts.registry ?? knownProfiles();
  const base = opts.canonicalBase ?? DEFAULT_CANONICAL_BASE;
  const problems: MappingProblem[] = [];
  (bundle.entry ?? []).forEach((entry, i) => {
    if (!entry.resource) return;
    const resource = entry.resource as unknown as Record<string, unknown>;
    const pathPrefix = `Bundle.entry[${i}].resource`;
    const tagged = tagUnverifiedNationalIds(resource, pathPrefix, base);
    const outcome = validateResource(model, resource, {
      pathPrefix,
      registry,
      regionProfiles: true,
      nationalIdWarnings: false,
    });
    for (const issue of [...outcome.issue.filter(reported), ...tagged]) problems.push(toProblem(issue));
  });
  return problems;
}

/**
 * What the sender hears of: not "no issues", not an unknown claimed profile's note, and not the
 * profile's check-digit warning (every failing national ID is already reported once, by the
 * mapping that tagged it or by the tagging above).
 */
function reported(issue: OperationOutcomeIssue): boolean {
  if (issue.severity === 'information') return false;
  return !(issue.code === 'invariant' && /Constraint hie-nid-/.test(issue.diagnostics ?? ''));
}

function toProblem(issue: OperationOutcomeIssue): MappingProblem {
  return {
    severity: issue.severity === 'error' || issue.severity === 'fatal' ? 'error' : 'warning',
    text: issue.diagnostics ?? issue.details?.text ?? issue.code,
    code: issue.code,
    ...(issue.expression?.[0] ? { expression: issue.expression[0] } : {}),
  };
}

/**
 * The last stage before archiving, the same for every format: sensitivity labels from the rule
 * table in `mappings/sensitivity/` (consent filtering depends on them), then validation.
 */
export function checkMapped(
  env: { model: FhirModel; sensitivity?: SensitivityRules } & ValidateStageOptions,
  bundle: Bundle,
): MappingProblem[] {
  if (env.sensitivity) labelBundle(bundle, env.sensitivity);
  return validateMappedBundle(env.model, bundle, env);
}

/**
 * What an accepted message would leave unseen: the mapping's warnings (an untranslated code kept
 * with its local system, an element's `warn`, a resource left out by `otherwise`) and the
 * validation's. They are kept on the message's archive row and told to the sender (HL7: ERR
 * segments of severity W in the AA; other formats: the 202's OperationOutcome).
 */
export function acceptedWarnings(mapped: MappedMessage, checked: MappingProblem[]): OperationOutcomeIssue[] {
  return [
    ...mapped.issues.filter((i) => i.severity === 'warning'),
    ...checked.filter((p) => p.severity === 'warning').map(problemIssue),
  ];
}
