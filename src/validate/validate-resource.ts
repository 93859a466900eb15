import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4';
import type { FhirModel } from '../repository/fhir-model.ts';
import { validateStructure } from '../repository/validation/index.ts';
import { nationalIdIssues } from './national-id-issues.ts';
import { profileIssues } from './profile-check.ts';
import { knownProfiles, type ProfileRegistry } from './profile-registry.ts';

export interface ValidateResourceOptions {
  /** Profiles to check besides those the resource claims in `meta.profile` (`$validate`'s `profile`). */
  profileUrls?: string[];
  /** Where profiles are looked up; default: the ones shipped in `profiles/`. */
  registry?: ProfileRegistry;
  /** Where the resource sits, for `expression`: `Bundle.entry[3].resource`. Default: its type. */
  pathPrefix?: string;
  /**
   * Also check the resource (and each Bundle entry) against the region's profile for its type
   * (`ProfileRegistry.forType`), claimed or not: `/ingest` and `$validate` do; direct `/fhir`
   * writes check only what `meta.profile` claims.
   */
  regionProfiles?: boolean;
  /** Report national IDs that fail verification (default true); `/ingest` reports them while tagging. */
  nationalIdWarnings?: boolean;
}

/**
 * Everything this server checks of one resource, as one OperationOutcome: base R4 structure,
 * every profile it claims or is asked about that the server knows (an unknown one is reported
 * as information, not guessed at), and national-ID verification (warnings only).
 * Never throws for a bad resource: the issues are the answer.
 */
export function validateResource(
  model: FhirModel,
  resource: Record<string, unknown>,
  opts: ValidateResourceOptions = {},
): OperationOutcome {
  const type = resource.resourceType;
  const prefix = opts.pathPrefix ?? (typeof type === 'string' ? type : 'resource');
  const structural = validateStructure(model, resource, { pathPrefix: prefix });
  if (typeof type !== 'string' || !model.isResourceType(type)) return finish(structural);

  const issues = [...structural];
  const errorPlaces = new Set(structural.filter(isError).flatMap((i) => i.expression ?? []));
  const registry = opts.registry ?? knownProfiles();
  for (const { resource: r, prefix: at } of withBundleEntries(resource, prefix)) {
    const extra = at === prefix ? [...(opts.profileUrls ?? [])] : [];
    const region = opts.regionProfiles ? registry.forType(String(r.resourceType)) : undefined;
    if (region) extra.push(region.url);
    for (const { url, expression } of profilesToCheck(r, extra, at)) {
      const sd = registry.get(url.split('|')[0]!);
      if (!sd) {
        issues.push({
          severity: 'information',
          code: 'informational',
          diagnostics: `Profile ${url} is not known to this server, not checked`,
          ...(expression ? { expression: [expression] } : {}),
        });
        continue;
      }
      // Medplum also checks base R4: a place the structural check already faulted is reported once.
      for (const i of profileIssues(r, sd, at)) {
        if (isError(i) && (i.expression ?? []).some((e) => errorPlaces.has(e))) continue;
        issues.push(i);
      }
    }
  }
  const nationalId = opts.nationalIdWarnings === false ? [] : nationalIdIssues(resource, prefix);
  // The profile's check-digit invariant and nationalIdIssues speak of the same identifier:
  // the latter's reason (check digit, date or sex digit) is kept, the former dropped.
  const reported = new Set(nationalId.flatMap((i) => i.expression ?? []).map(identifierPath));
  const kept = issues.filter(
    (i) =>
      !(
        i.code === 'invariant' &&
        /Constraint hie-nid-/.test(i.diagnostics ?? '') &&
        (i.expression ?? []).some((e) => reported.has(identifierPath(e)))
      ),
  );
  return finish([...kept, ...nationalId]);
}

/**
 * For direct `/fhir` writes, after the repository's own structural check: the issues of every
 * profile the resource claims in `meta.profile` that this server knows (an unknown one is an
 * information issue). No base R4 structure (already checked) and no region profile by type.
 */
export function claimedProfileIssues(
  resource: Record<string, unknown>,
  opts: { registry?: ProfileRegistry; pathPrefix?: string } = {},
): OperationOutcomeIssue[] {
  const registry = opts.registry ?? knownProfiles();
  const prefix = opts.pathPrefix ?? String(resource.resourceType);
  const issues: OperationOutcomeIssue[] = [];
  for (const { url, expression } of profilesToCheck(resource, [], prefix)) {
    const sd = registry.get(url.split('|')[0]!);
    if (sd) issues.push(...profileIssues(resource, sd, prefix));
    else
      issues.push({
        severity: 'information',
        code: 'informational',
        diagnostics: `Profile ${url} is not known to this server, not checked`,
        ...(expression ? { expression: [expression] } : {}),
      });
  }
  return issues;
}

/**
 * The resource and, for a Bundle, each entry's resource (at any depth) with its path: an
 * entry's own `meta.profile` is its claim, checked like a resource sent alone. The extra
 * profile URLs apply to the root only.
 */
function* withBundleEntries(
  resource: Record<string, unknown>,
  prefix: string,
): Generator<{ resource: Record<string, unknown>; prefix: string }> {
  yield { resource, prefix };
  if (resource.resourceType !== 'Bundle' || !Array.isArray(resource.entry)) return;
  for (const [i, entry] of resource.entry.entries()) {
    const r = (entry as { resource?: unknown } | null)?.resource;
    if (r !== null && typeof r === 'object' && !Array.isArray(r))
      yield* withBundleEntries(r as Record<string, unknown>, `${prefix}.entry[${i}].resource`);
  }
}

/** `meta.profile` entries (with their place) and the extra URLs, each once. */
function profilesToCheck(
  resource: Record<string, unknown>,
  extra: string[],
  prefix: string,
): { url: string; expression?: string }[] {
  const out: { url: string; expression?: string }[] = [];
  const seen = new Set<string>();
  const claimed = (resource.meta as { profile?: unknown } | undefined)?.profile;
  if (Array.isArray(claimed)) {
    claimed.forEach((url, i) => {
      if (typeof url !== 'string' || seen.has(url)) return;
      seen.add(url);
      out.push({ url, expression: `${prefix}.meta.profile[${i}]` });
    });
  }
  for (const url of extra) {
    if (seen.has(url)) continue;
    seen.add(url);
    out.push({ url });
  }
  return out;
}

/** `Patient.identifier[0].value` and `Patient.identifier[0]` name one identifier. */
function identifierPath(expression: string): string {
  return expression.endsWith('.value') ? expression.slice(0, -'.value'.length) : expression;
}

function isError(i: OperationOutcomeIssue): boolean {
  return i.severity === 'error' || i.severity === 'fatal';
}

/** An OperationOutcome needs at least one issue (R4 `issue` 1..*): "all OK" is one too. */
function finish(issues: OperationOutcomeIssue[]): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: issues.length
      ? issues
      : [{ severity: 'information', code: 'informational', diagnostics: 'No issues found' }],
  };
}
