import type { ElementDefinition, OperationOutcomeIssue, StructureDefinition } from 'fhir/r4';
import { compileElementPath, compileStep } from './element-nodes.ts';
import { baseDefinition } from './snapshot-unfold.ts';

/**
 * What a profile adds to base R4, checked directly: cardinality, types, reference targets,
 * fixed and pattern values, slice cardinality. Base R4 itself is already checked by the
 * repository's structural walker, so this is the whole profile check on `/ingest` at a few µs
 * a resource, where Medplum re-validates all of base R4 too (≈200–300 µs a Patient, measured).
 * Compiled once per profile by comparing its snapshot with the base snapshot; a profile using
 * anything else (closed slicing, a profile on a type…) returns undefined and goes to Medplum.
 */
export type DifferentialCheck = (
  resource: Record<string, unknown>,
  prefix: string,
) => OperationOutcomeIssue[];

type Check = (resource: Record<string, unknown>, prefix: string, out: OperationOutcomeIssue[]) => void;

const INFINITE = Number.MAX_SAFE_INTEGER;
const maxOf = (max: string | undefined) => (max === undefined || max === '*' ? INFINITE : Number(max));

export function compileDifferential(sd: StructureDefinition): DifferentialCheck | undefined {
  let base: StructureDefinition;
  try {
    base = baseDefinition(sd.type);
  } catch {
    return undefined;
  }
  if (sd.baseDefinition !== base.url) return undefined;
  const baseById = new Map((base.snapshot?.element ?? []).map((e) => [e.id ?? e.path, e]));
  const checks: Check[] = [];
  for (const element of sd.snapshot?.element ?? []) {
    const id = element.id ?? element.path;
    if (element.slicing && element.slicing.rules === 'closed') return undefined;
    // An element base R4 does not have (a slice, a child of a data type) is checked whole.
    const was: Partial<ElementDefinition> = baseById.get(id) ?? { min: 0, max: '*', type: element.type };
    // A data-type profile base R4 does not already name (SimpleQuantity) is Medplum's to check.
    const typeProfiles = (e: Partial<ElementDefinition>) =>
      JSON.stringify((e.type ?? []).map((t) => t.profile ?? []));
    if (element.type?.some((t) => t.profile?.length) && typeProfiles(element) !== typeProfiles(was))
      return undefined;
    if (!id.includes('.')) continue;
    if ((element.min ?? 0) > (was.min ?? 0) || maxOf(element.max) < maxOf(was.max))
      checks.push(cardinality(sd, id, element));
    const allowed = narrowedTypes(element, was);
    if (allowed) checks.push(types(sd, id, allowed));
    const targets = narrowedTargets(element, was);
    if (targets) checks.push(referenceTargets(sd, id, targets));
    const fixed = Object.entries(element).find(([k]) => k.startsWith('fixed') || k.startsWith('pattern'));
    if (
      fixed &&
      !Object.entries(was).some(([k, v]) => k === fixed[0] && JSON.stringify(v) === JSON.stringify(fixed[1]))
    )
      checks.push(fixedValue(sd, id, fixed[0].startsWith('fixed'), fixed[1]));
  }
  return (resource, prefix) => {
    const out: OperationOutcomeIssue[] = [];
    for (const check of checks) check(resource, prefix, out);
    return out.map((i) => ({ ...i, diagnostics: `${i.diagnostics} (profile ${sd.url})` }));
  };
}

function issue(code: OperationOutcomeIssue['code'], diagnostics: string, at: string): OperationOutcomeIssue {
  return { severity: 'error', code, diagnostics, expression: [at] };
}

function cardinality(sd: StructureDefinition, id: string, element: ElementDefinition): Check {
  const cut = id.lastIndexOf('.');
  const parents = compileElementPath(sd, id.slice(0, cut));
  const part = id.slice(cut + 1);
  const children = compileStep(sd, id.slice(0, cut), part);
  const [name = '', slice] = part.split(':');
  const min = element.min ?? 0;
  const max = maxOf(element.max);
  const what = slice ? `slice ${slice} of ${name}` : name;
  return (resource, prefix, out) => {
    for (const parent of parents(resource, prefix)) {
      const n = children(parent).length;
      const at = `${parent.path}.${name}`;
      if (n < min) out.push(issue('required', `${what}: at least ${min} required, found ${n}`, at));
      else if (n > max)
        out.push(issue('structure', `${what}: at most ${element.max} allowed, found ${n}`, at));
    }
  };
}

function narrowedTypes(element: ElementDefinition, was: Partial<ElementDefinition>): Set<string> | undefined {
  const now = new Set((element.type ?? []).map((t) => t.code));
  const before = new Set((was.type ?? []).map((t) => t.code));
  return now.size && now.size < before.size ? now : undefined;
}

/** A choice element's value names its type in the key: `occurrenceString` is a string. */
function types(sd: StructureDefinition, id: string, allowed: Set<string>): Check {
  const nodes = compileElementPath(sd, id);
  const stem = id
    .slice(id.lastIndexOf('.') + 1)
    .split(':')[0]!
    .replace('[x]', '');
  const upper = new Map([...allowed].map((t) => [t.charAt(0).toUpperCase() + t.slice(1), t]));
  return (resource, prefix, out) => {
    for (const node of nodes(resource, prefix)) {
      const key = /\.([^.[]+)(\[\d+\])?$/.exec(node.path)?.[1] ?? '';
      if (!upper.has(key.slice(stem.length)))
        out.push(issue('structure', `${key}: only ${[...allowed].join(', ')} allowed here`, node.path));
    }
  };
}

function targetsOf(e: Partial<ElementDefinition>): string[] {
  return (e.type ?? []).filter((t) => t.code === 'Reference').flatMap((t) => t.targetProfile ?? []);
}

function narrowedTargets(
  element: ElementDefinition,
  was: Partial<ElementDefinition>,
): Set<string> | undefined {
  const now = targetsOf(element);
  const before = targetsOf(was);
  if (!now.length || (before.length && now.length >= before.length)) return undefined;
  const prefix = 'http://hl7.org/fhir/StructureDefinition/';
  return now.every((u) => u.startsWith(prefix)) ? new Set(now.map((u) => u.slice(prefix.length))) : undefined;
}

/**
 * A literal or conditional reference names its type; a bundle-internal `urn:` one does not,
 * and the repository checks it when the transaction resolves it.
 */
function referenceTargets(sd: StructureDefinition, id: string, targets: Set<string>): Check {
  const nodes = compileElementPath(sd, id);
  return (resource, prefix, out) => {
    for (const node of nodes(resource, prefix)) {
      const ref = (node.value as { reference?: unknown } | null)?.reference;
      if (typeof ref !== 'string' || ref.startsWith('urn:') || ref.startsWith('#')) continue;
      const type = /^(?:.*\/)?([A-Z][A-Za-z]+)(?:\/[^/]+(?:\/_history\/[^/]+)?|\?.*)$/.exec(ref)?.[1];
      if (type && !targets.has(type))
        out.push(
          issue(
            'structure',
            `A reference to ${type}; only ${[...targets].join(', ')} allowed here`,
            `${node.path}.reference`,
          ),
        );
    }
  };
}

function fixedValue(sd: StructureDefinition, id: string, exact: boolean, value: unknown): Check {
  const nodes = compileElementPath(sd, id);
  const shown = JSON.stringify(value);
  return (resource, prefix, out) => {
    for (const node of nodes(resource, prefix))
      if (!(exact ? JSON.stringify(node.value) === shown : contains(node.value, value)))
        out.push(issue('value', `Must be ${exact ? '' : 'like '}${shown}`, node.path));
  };
}

/** FHIR pattern matching: every property the pattern has is in the value (arrays: each pattern item matched by some item). */
function contains(value: unknown, pattern: unknown): boolean {
  if (Array.isArray(pattern))
    return Array.isArray(value) && pattern.every((p) => value.some((v) => contains(v, p)));
  if (pattern !== null && typeof pattern === 'object') {
    if (value === null || typeof value !== 'object') return false;
    return Object.entries(pattern).every(([k, p]) => contains((value as Record<string, unknown>)[k], p));
  }
  return value === pattern;
}
