import { tryGetDataType } from '@medplum/core';
import { loadFhirModel } from '../../repository/fhir-model.ts';

/**
 * The FHIR types an element path (`Observation.component.code`) may hold, or undefined when R4
 * has no such element. Rule tables are checked with it at load: a misspelt `Condtion.code` would
 * otherwise never match, and a sensitive record would go out unlabelled without anyone noticing.
 * The R4 definitions come from the process's FhirModel (loaded once, shared with validation).
 * A choice element is named with its type, as in JSON: `MedicationRequest.medicationCodeableConcept`
 * is `medication[x]` restricted to CodeableConcept.
 */
export function typesOfElement(path: string): string[] | undefined {
  const [type = '', ...steps] = path.split('.');
  if (!loadFhirModel().isResourceType(type) || steps.length === 0) return undefined;
  let schema = tryGetDataType(type);
  let types: string[] = [];
  for (const [i, step] of steps.entries()) {
    if (!schema) return undefined;
    const found = elementTypes(schema.elements, step);
    if (!found) return undefined;
    types = found;
    // Deeper steps go into the element's own type (a backbone such as ObservationComponent).
    if (i < steps.length - 1) schema = found.length === 1 ? tryGetDataType(found[0]!) : undefined;
  }
  return types;
}

function elementTypes(
  elements: Record<string, { type: { code: string }[] }>,
  name: string,
): string[] | undefined {
  const direct = elements[name];
  if (direct) return direct.type.map((t) => t.code);
  for (const [key, el] of Object.entries(elements)) {
    if (!key.endsWith('[x]')) continue;
    const base = key.slice(0, -3);
    if (!name.startsWith(base)) continue;
    const suffix = name.slice(base.length);
    const t = el.type.find((x) => x.code.charAt(0).toUpperCase() + x.code.slice(1) === suffix);
    if (t) return [t.code];
  }
  return undefined;
}

/**
 * The values at `steps` below a resource, arrays flattened at every level (FHIRPath's
 * navigation, without an expression engine: these paths are plain element names).
 */
export function valuesAt(resource: unknown, steps: readonly string[]): unknown[] {
  let nodes: unknown[] = [resource];
  for (const step of steps) {
    const next: unknown[] = [];
    for (const n of nodes) {
      if (n === null || typeof n !== 'object') continue;
      const v = (n as Record<string, unknown>)[step];
      if (Array.isArray(v)) next.push(...v);
      else if (v !== undefined && v !== null) next.push(v);
    }
    nodes = next;
  }
  return nodes;
}
