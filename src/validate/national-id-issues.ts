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
  walk(resource, prefix, undefined, issues);
  return issues;
}

/** Only a Patient's own gender speaks for its own identifiers (not for a Reference's identifier). */
function genderOf(r: Record<string, unknown>): 'male' | 'female' | undefined {
  return r.resourceType === 'Patient' && (r.gender === 'male' || r.gender === 'female')
    ? r.gender
    : undefined;
}

/** `sex`: the gender of the Patient whose `identifier` list this value is in, when it states one. */
function walk(
  value: unknown,
  at: string,
  sex: 'male' | 'female' | undefined,
  out: OperationOutcomeIssue[],
): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => walk(v, `${at}[${i}]`, sex, out));
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
        expression: [`${at}.value`],
      });
    }
  }
  // Bundle entries and contained resources are resources too: each speaks for its own identifiers.
  const ownSex = typeof obj.resourceType === 'string' ? genderOf(obj) : undefined;
  for (const [key, child] of Object.entries(obj)) {
    if (child !== null && typeof child === 'object')
      walk(child, `${at}.${key}`, key === 'identifier' ? ownSex : undefined, out);
  }
}
