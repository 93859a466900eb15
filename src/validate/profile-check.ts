import {
  OperationOutcomeError,
  getAllDataTypes,
  loadDataType,
  tryGetProfile,
  validateTypedValue,
} from '@medplum/core';
import type { OperationOutcomeIssue, StructureDefinition } from 'fhir/r4';
import { toPlainNumbers } from '../kernel/fhir-json.ts';

/**
 * Checks a resource against one profile with Medplum's validator.
 *
 * Why not `validateResource(resource, { profile })` directly: it re-parses the profile on every
 * call (≈2 ms for a Patient profile, dependency-trials.md §3). The same validator runs from a
 * parsed schema when the resource's "type" names one in Medplum's type map, so each profile is
 * parsed once (`loadDataType`, which also indexes its inner types under its URL) and its schema
 * put in that map under a key no FHIR type can have. test/validate/profile-check.test.ts asserts
 * that both paths report the same issues. (Medplum 4.5.2; re-check on an upgrade.)
 */
const prepared = new Map<string, { sd: StructureDefinition; key: string }>();

function schemaKey(sd: StructureDefinition): string {
  const cached = prepared.get(sd.url);
  if (cached?.sd === sd) return cached.key;
  loadDataType(sd as Parameters<typeof loadDataType>[0]);
  const schema = tryGetProfile(sd.url);
  if (!schema) throw new Error(`Medplum did not index the profile ${sd.url}`);
  const key = `hie-profile|${sd.url}`;
  getAllDataTypes()[key] = schema;
  prepared.set(sd.url, { sd, key });
  return key;
}

/**
 * Issues of `resource` against `sd`, their expressions rooted at `prefix` (the resource's own
 * type, or `Bundle.entry[2].resource`). Medplum throws when any issue is an error; both ends
 * come back as a list here.
 */
export function profileIssues(
  resource: Record<string, unknown>,
  sd: StructureDefinition,
  prefix: string,
): OperationOutcomeIssue[] {
  const type = String(resource.resourceType);
  if (sd.type !== type) {
    return [
      {
        severity: 'error',
        code: 'invalid',
        diagnostics: `Profile ${sd.url} constrains ${sd.type}, not ${type}`,
        expression: [`${prefix}.meta.profile`],
      },
    ];
  }
  let issues: OperationOutcomeIssue[];
  try {
    // Medplum reads plain numbers; precision-keeping LosslessNumbers are not its concern here.
    issues = validateTypedValue({
      type: schemaKey(sd),
      value: toPlainNumbers(resource),
    }) as OperationOutcomeIssue[];
  } catch (err) {
    if (!(err instanceof OperationOutcomeError)) throw err;
    issues = err.outcome.issue as OperationOutcomeIssue[];
  }
  return issues.map((i) => withProfile(i, sd.url, type, prefix));
}

/** Medplum puts its text in `details.text` and roots paths at the type; ours use `diagnostics` and the prefix. */
function withProfile(
  i: OperationOutcomeIssue,
  url: string,
  type: string,
  prefix: string,
): OperationOutcomeIssue {
  const text = i.diagnostics ?? i.details?.text ?? i.code;
  const out: OperationOutcomeIssue = {
    severity: i.severity,
    code: i.code,
    diagnostics: `${text} (profile ${url})`,
  };
  if (i.expression)
    out.expression = i.expression.map((e) =>
      e === type || e.startsWith(`${type}.`) || e.startsWith(`${type}[`) ? prefix + e.slice(type.length) : e,
    );
  return out;
}
