import {
  OperationOutcomeError,
  getAllDataTypes,
  loadDataType,
  tryGetProfile,
  validateTypedValue,
} from '@medplum/core';
import type { OperationOutcomeIssue, StructureDefinition } from 'fhir/r4';
import { toPlainNumbers } from '../kernel/fhir-json.ts';
import { compileDifferential, type DifferentialCheck } from './differential-check.ts';
import { compileInvariants, invariantIssues } from './invariants.ts';
import { bindingIssues, compileRequiredBindings } from './required-bindings.ts';
import { createValueSetExpander } from './value-sets.ts';

/**
 * Checks a resource against one profile. Base R4 is the structural walker's job (it runs first,
 * validate-resource.ts); here is what the profile adds, compiled once per profile:
 * - what it changes of base R4 elements (cardinality, types, reference targets, fixed/pattern
 *   values, slices), checked directly (differential-check.ts);
 * - its own invariants, warnings included (invariants.ts), and required bindings, Medplum's gap
 *   (required-bindings.ts).
 * A profile the direct check cannot take goes to Medplum's validator from a schema parsed once
 * (`loadDataType`, then put in Medplum's type map under a key no FHIR type can have), because
 * `validateResource(resource, { profile })` re-parses the profile on every call (≈2 ms for a
 * Patient profile, dependency-trials.md §3). (Medplum 4.5.2; re-check on an upgrade.)
 */
interface Prepared {
  sd: StructureDefinition;
  /** The direct check of what the profile adds to base R4, when it can be compiled. */
  differential: DifferentialCheck | undefined;
  /** Else Medplum's schema, under this key. */
  key: string | undefined;
  invariants: ReturnType<typeof compileInvariants>;
  bindings: ReturnType<typeof compileRequiredBindings>;
}

const prepared = new Map<string, Prepared>();
const expandValueSet = createValueSetExpander();

/**
 * Everything one profile needs, built on its first use and kept: Medplum's parsed schema, the
 * profile's own invariants (compiled FHIRPath) and its required bindings (expanded ValueSets).
 */
function prepare(sd: StructureDefinition): Prepared {
  const cached = prepared.get(sd.url);
  if (cached?.sd === sd) return cached;
  const differential = compileDifferential(sd);
  const entry = {
    sd,
    differential,
    key: differential ? undefined : medplumSchema(sd),
    invariants: compileInvariants(sd),
    bindings: compileRequiredBindings(sd, expandValueSet),
  };
  prepared.set(sd.url, entry);
  return entry;
}

/** Medplum's parsed schema of a profile the direct check cannot take, under its own key. */
function medplumSchema(sd: StructureDefinition): string {
  // Medplum gets the profile without its own invariants: they are evaluated by
  // invariants.ts, warnings included, which Medplum skips.
  const forMedplum = structuredClone(sd);
  for (const e of forMedplum.snapshot?.element ?? [])
    if (e.constraint) e.constraint = e.constraint.filter((c) => c.source !== sd.url);
  loadDataType(forMedplum as Parameters<typeof loadDataType>[0]);
  const schema = tryGetProfile(sd.url);
  if (!schema) throw new Error(`Medplum did not index the profile ${sd.url}`);
  const key = `hie-profile|${sd.url}`;
  getAllDataTypes()[key] = schema;
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
  const p = prepare(sd);
  const own = [
    ...invariantIssues(p.invariants, resource, prefix, sd.url),
    ...bindingIssues(p.bindings, resource, prefix, sd.url),
  ];
  if (p.differential) return [...p.differential(resource, prefix), ...own];
  let issues: OperationOutcomeIssue[];
  try {
    // Medplum reads plain numbers; precision-keeping LosslessNumbers are not its concern here.
    issues = validateTypedValue({
      type: p.key!,
      value: toPlainNumbers(resource),
    }) as OperationOutcomeIssue[];
  } catch (err) {
    if (!(err instanceof OperationOutcomeError)) throw err;
    issues = err.outcome.issue as OperationOutcomeIssue[];
  }
  return [
    ...issues.filter((i) => !bundleInternalReference(i)).map((i) => withProfile(i, sd.url, type, prefix)),
    ...own,
  ];
}

/**
 * Medplum reads a reference's type from its first path segment, so a transaction's
 * `urn:uuid:` reference (every pipeline Bundle uses them) draws an "Invalid reference" warning
 * that says nothing about the resource: the repository resolves and type-checks it on write.
 */
function bundleInternalReference(i: OperationOutcomeIssue): boolean {
  const text = i.diagnostics ?? i.details?.text ?? '';
  return i.severity === 'warning' && text.startsWith('Invalid reference: got "urn:');
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
