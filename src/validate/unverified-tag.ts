import type { OperationOutcomeIssue } from 'fhir/r4';
import { nationalIdIssues } from './national-id-issues.ts';

/** `{base}/StructureDefinition/identifier-verification` (CONTRACTS.md). */
export function verificationExtensionUrl(canonicalBase: string): string {
  return `${canonicalBase}/StructureDefinition/identifier-verification`;
}

/**
 * Tags every national ID in `resource` that fails verification with the
 * `identifier-verification` = `unverified` extension, unless it already carries one (the HL7 v2
 * mappings tag their own). Returns the warnings for the identifiers tagged here, so a feed whose
 * mapping does not tag (a FHIR pass-through) still reports them once.
 */
export function tagUnverifiedNationalIds(
  resource: Record<string, unknown>,
  prefix: string,
  canonicalBase: string,
): OperationOutcomeIssue[] {
  const url = verificationExtensionUrl(canonicalBase);
  const tagged: OperationOutcomeIssue[] = [];
  for (const issue of nationalIdIssues(resource, prefix)) {
    // An ID that disagrees with the record's gender is still a valid ID (often a relative's):
    // identity sends such pairs to review; only an ID that fails itself is unverified.
    if ((issue.diagnostics ?? '').includes('disagrees with the Patient')) continue;
    const at = issue.expression?.[0];
    const identifier = at ? objectAt(resource, prefix, at.replace(/\.value$/, '')) : undefined;
    if (!identifier) continue;
    const extensions = Array.isArray(identifier.extension)
      ? (identifier.extension as { url?: unknown }[])
      : [];
    if (
      extensions.some(
        (e) => typeof e?.url === 'string' && e.url.endsWith('/StructureDefinition/identifier-verification'),
      )
    )
      continue;
    identifier.extension = [...extensions, { url, valueCode: 'unverified' }];
    tagged.push(issue);
  }
  return tagged;
}

/** The object at an expression (`Bundle.entry[0].resource.identifier[1]`) below `prefix`. */
function objectAt(root: unknown, prefix: string, expression: string): Record<string, unknown> | undefined {
  if (!expression.startsWith(prefix)) return undefined;
  let node: unknown = root;
  for (const [, key, index] of expression.slice(prefix.length).matchAll(/\.([^.[]+)(?:\[(\d+)\])?/g)) {
    node = node && typeof node === 'object' ? (node as Record<string, unknown>)[key!] : undefined;
    if (index !== undefined) node = Array.isArray(node) ? node[Number(index)] : undefined;
  }
  return node !== null && typeof node === 'object' && !Array.isArray(node)
    ? (node as Record<string, unknown>)
    : undefined;
}
