import type { OperationOutcomeIssue } from 'fhir/r4';
import { NATIONAL_ID_SYSTEM, checkNationalId } from '../identity/national-id.ts';
import { mask } from '../kernel/logger.ts';

const REASONS = {
  format: 'is not 18 characters (17 digits and a digit or X) nor a 15-digit legacy number',
  'check-digit': 'fails its check digit',
  'birth-date': 'does not hold a real birth date',
  sex: "disagrees with the Patient's gender (digit 17)",
} as const;

/**
 * A warning for every national resident ID that fails verification, wherever an Identifier
 * with that system sits (Patient.identifier, a Reference's identifier, a contained resource,
 * a Bundle entry).
 * Never an error (CONTRACTS.md): such an ID is kept, marked unverified and never used to link.
 * The value is masked: an OperationOutcome is archived and shown to operators.
 */
export function nationalIdIssues(resource: Record<string, unknown>, prefix: string): OperationOutcomeIssue[] {
  const issues: OperationOutcomeIssue[] = [];
  walk(resource, [prefix], undefined, issues);
  return issues;
}

/** Only a Patient's own gender speaks for its own identifiers (not for a Reference's identifier). */
function genderOf(r: Record<string, unknown>): 'male' | 'female' | undefined {
  return r.resourceType === 'Patient' && (r.gender === 'male' || r.gender === 'female')
    ? r.gender
    : undefined;
}

/** `Bundle.entry[0].resource.identifier[1]` from the walk's path (only built for an issue). */
function expressionOf(path: readonly (string | number)[]): string {
  let out = '';
  for (const step of path) out += typeof step === 'number' ? `[${step}]` : out ? `.${step}` : step;
  return out;
}

/**
 * `sex`: the gender of the Patient whose `identifier` list this value is in, when it states one.
 * `path` is the way down, pushed and popped as the walk goes: every node of every resource is
 * visited, and building its path as a string would cost more than the check itself.
 */
function walk(
  value: unknown,
  path: (string | number)[],
  sex: 'male' | 'female' | undefined,
  out: OperationOutcomeIssue[],
): void {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      if (v === null || typeof v !== 'object') continue;
      path.push(i);
      walk(v, path, sex, out);
      path.pop();
    }
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const obj = value as Record<string, unknown>;
  if (obj.system === NATIONAL_ID_SYSTEM && typeof obj.value === 'string') {
    const check = checkNationalId(obj.value, sex ? { expectedSex: sex } : {});
    if (!check.valid && check.reason) {
      out.push({
        severity: 'warning',
        code: 'value',
        diagnostics: `National ID ${mask(check.value)} ${REASONS[check.reason]}: kept as unverified, never used to link`,
        expression: [`${expressionOf(path)}.value`],
      });
    }
  }
  // Bundle entries and contained resources are resources too: each speaks for its own identifiers.
  const ownSex = typeof obj.resourceType === 'string' ? genderOf(obj) : undefined;
  for (const key in obj) {
    const child = obj[key];
    if (child === null || typeof child !== 'object') continue;
    path.push(key);
    walk(child, path, key === 'identifier' ? ownSex : undefined, out);
    path.pop();
  }
}
