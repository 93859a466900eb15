import type { ElementDefinition, OperationOutcomeIssue, StructureDefinition } from 'fhir/r4';
import { compileElementPath, type ElementNode } from './element-nodes.ts';
import { baseDefinition } from './snapshot-unfold.ts';
import type { Expansion } from './value-sets.ts';

/**
 * Required bindings, which Medplum 4.5.2 does not check: every element of the profile bound
 * `required`, and those inside the data types it uses (HumanName.use, Identifier.use,
 * Quantity.comparator…), compiled once per profile into (where, which codes) pairs.
 */
export interface BindingRule {
  id: string;
  valueSet: string;
  nodes: (resource: Record<string, unknown>, prefix: string) => ElementNode[];
  expansion: Expansion;
}

/** Data types are followed this deep (Identifier.assigner.identifier… stops). */
const MAX_TYPE_DEPTH = 2;
const NOT_FOLLOWED = new Set(['Extension', 'Reference', 'Resource', 'Meta', 'Element', 'BackboneElement']);

export function compileRequiredBindings(
  sd: StructureDefinition,
  expand: (url: string) => Expansion | undefined,
): BindingRule[] {
  const rules: BindingRule[] = [];
  const visit = (element: ElementDefinition, id: string, depth: number): void => {
    const vs = element.binding?.strength === 'required' ? element.binding.valueSet : undefined;
    const expansion = vs ? expand(vs) : undefined;
    if (vs && expansion)
      rules.push({ id, valueSet: vs.split('|')[0]!, nodes: compileElementPath(sd, id), expansion });
    if (depth >= MAX_TYPE_DEPTH) return;
    for (const type of element.type ?? []) {
      if (!/^[A-Z]/.test(type.code) || NOT_FOLLOWED.has(type.code) || type.code === 'BackboneElement')
        continue;
      const typeSd = tryBase(type.code);
      if (typeSd?.kind !== 'complex-type') continue;
      for (const inner of typeSd.snapshot?.element.slice(1) ?? []) {
        if (inner.path.split('.').length !== 2) continue;
        visit(inner, `${id}.${inner.path.split('.')[1]}`, depth + 1);
      }
    }
  };
  for (const element of sd.snapshot?.element ?? []) {
    // A slice's items are also items of the sliced element, whose rules already cover them.
    if ((element.id ?? '').includes(':')) continue;
    visit(element, element.id ?? element.path, 0);
  }
  return rules;
}

function tryBase(type: string): StructureDefinition | undefined {
  try {
    return baseDefinition(type);
  } catch {
    return undefined;
  }
}

export function bindingIssues(
  rules: BindingRule[],
  resource: Record<string, unknown>,
  prefix: string,
  profileUrl: string,
): OperationOutcomeIssue[] {
  const issues: OperationOutcomeIssue[] = [];
  for (const rule of rules) {
    for (const node of rule.nodes(resource, prefix)) {
      const problem = notInValueSet(node.value, rule.expansion);
      if (!problem) continue;
      issues.push({
        severity: 'error',
        code: 'code-invalid',
        diagnostics: `${problem} is not in the required value set ${rule.valueSet} (profile ${profileUrl})`,
        expression: [node.path],
      });
    }
  }
  return issues;
}

type CodingLike = { system?: unknown; code?: unknown };

/** What is wrong with a code, Coding or CodeableConcept (by shape), or undefined when it fits. */
function notInValueSet(value: unknown, e: Expansion): string | undefined {
  if (typeof value === 'string') return e.codes.has(value) ? undefined : `The code ${JSON.stringify(value)}`;
  if (value === null || typeof value !== 'object') return undefined;
  const v = value as { coding?: CodingLike[] } & CodingLike;
  const fits = (c: CodingLike) =>
    typeof c.code === 'string' &&
    (typeof c.system === 'string' ? e.pairs.has(`${c.system}|${c.code}`) : e.codes.has(c.code));
  if (Array.isArray(v.coding)) {
    if (v.coding.some(fits)) return undefined;
    const shown = v.coding.map((c) => `${String(c.system)}|${String(c.code)}`).join(', ');
    return v.coding.length ? `No coding (${shown})` : 'A concept without a coding';
  }
  // A Quantity's or a Coding's code: only a value that names a code is checked.
  if (v.code === undefined) return undefined;
  return fits(v) ? undefined : `The coding ${String(v.system)}|${String(v.code)}`;
}
