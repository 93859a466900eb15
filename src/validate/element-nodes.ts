import type { ElementDefinition, StructureDefinition } from 'fhir/r4';

/** One value in a resource at a snapshot element, with the `expression` path that names it. */
export interface ElementNode {
  value: unknown;
  path: string;
}

/** Which list items belong to a slice: each discriminator path and the value it must hold. */
type SliceMatch = { path: string[]; value: unknown }[];

/**
 * Finds the values a snapshot element id (`Patient.identifier:nationalId.value`) stands for in
 * a resource. Compiled once per profile element: the id's steps, a choice type's prefix, and a
 * slice's discriminator values (only `value`/`pattern` discriminators on fixed or pattern values,
 * the kind the region's profiles use).
 */
export function compileElementPath(
  sd: StructureDefinition,
  id: string,
): (resource: Record<string, unknown>, prefix: string) => ElementNode[] {
  const parts = id.split('.');
  const steps = parts.slice(1).map((part, i) => compileStep(sd, parts.slice(0, i + 1).join('.'), part));
  return (resource, prefix) => {
    let nodes: ElementNode[] = [{ value: resource, path: prefix }];
    for (const step of steps) {
      // Most elements are absent from most resources: stop at the first empty step.
      if (nodes.length === 1) nodes = step(nodes[0]!);
      else {
        const next: ElementNode[] = [];
        for (const node of nodes) for (const child of step(node)) next.push(child);
        nodes = next;
      }
      if (!nodes.length) return nodes;
    }
    return nodes;
  };
}

const NONE: ElementNode[] = [];

/**
 * One step down from a node at `parentId`: the children `part` (`identifier`, `value[x]`,
 * `identifier:nationalId`) names, each with its path.
 */
export function compileStep(
  sd: StructureDefinition,
  parentId: string,
  part: string,
): (node: ElementNode) => ElementNode[] {
  const [name = '', slice] = part.split(':');
  const match = slice ? sliceMatch(indexById(sd), `${parentId}.${name}`, slice) : undefined;
  const choice = name.endsWith('[x]');
  return (node) => {
    if (node.value === null || typeof node.value !== 'object') return NONE;
    const obj = node.value as Record<string, unknown>;
    // The common case, a plain name that is absent, allocates nothing.
    if (!choice && obj[name] === undefined) return NONE;
    const out: ElementNode[] = [];
    for (const [key, child] of choice ? propertiesNamed(obj, name) : [[name, obj[name]] as const]) {
      const at = `${node.path}.${key}`;
      if (Array.isArray(child)) {
        child.forEach((item, i) => {
          if (!match || matches(item, match)) out.push({ value: item, path: `${at}[${i}]` });
        });
      } else if (child !== undefined && (!match || matches(child, match))) {
        out.push({ value: child, path: at });
      }
    }
    return out;
  };
}

const indexes = new WeakMap<StructureDefinition, Map<string, ElementDefinition>>();

function indexById(sd: StructureDefinition): Map<string, ElementDefinition> {
  let byId = indexes.get(sd);
  if (!byId) {
    byId = new Map((sd.snapshot?.element ?? []).map((e) => [e.id ?? e.path, e]));
    indexes.set(sd, byId);
  }
  return byId;
}

/** `value[x]` matches `valueCode`, `valueQuantity`…; other names only themselves. */
function propertiesNamed(obj: Record<string, unknown>, name: string): [string, unknown][] {
  if (!name.endsWith('[x]')) return name in obj ? [[name, obj[name]]] : [];
  const stem = name.slice(0, -3);
  return Object.entries(obj).filter(
    ([k]) => k.startsWith(stem) && k.length > stem.length && /[A-Z]/.test(k[stem.length]!),
  );
}

function sliceMatch(byId: Map<string, ElementDefinition>, slicedId: string, slice: string): SliceMatch {
  const discriminators = byId.get(slicedId)?.slicing?.discriminator ?? [];
  const sliceElement = byId.get(`${slicedId}:${slice}`);
  return discriminators.map((d) => {
    const value =
      d.type === 'value' || d.type === 'pattern'
        ? discriminatorValue(byId, sliceElement, slicedId, slice, d.path)
        : undefined;
    if (value === undefined)
      throw new Error(`${slicedId}:${slice}: discriminator ${d.type} ${d.path} has no fixed value to match`);
    return { path: d.path === '$this' ? [] : d.path.split('.'), value };
  });
}

/**
 * The value a slice's discriminator path must hold: a fixed or pattern value on the element the
 * path names (or on the slice itself for `$this`). An extension slice usually fixes no `url`
 * element; its url is the canonical of the extension profile the slice's type names (FHIR
 * profiling rules), so that stands in for the fixed value.
 */
function discriminatorValue(
  byId: Map<string, ElementDefinition>,
  sliceElement: ElementDefinition | undefined,
  slicedId: string,
  slice: string,
  path: string,
): unknown {
  const element = path === '$this' ? sliceElement : byId.get(`${slicedId}:${slice}.${path}`);
  const fixed =
    element && Object.entries(element).find(([k]) => k.startsWith('fixed') || k.startsWith('pattern'));
  if (fixed) return fixed[1];
  const isExtension = /(^|\.)(modifierE|e)xtension$/.test(slicedId);
  const profile = sliceElement?.type?.[0]?.profile?.[0];
  if (path === 'url' && isExtension && profile) return profile.split('|')[0];
  return undefined;
}

function matches(item: unknown, match: SliceMatch): boolean {
  return match.every(({ path, value }) => {
    let v: unknown = item;
    for (const step of path)
      v = v && typeof v === 'object' ? (v as Record<string, unknown>)[step] : undefined;
    return JSON.stringify(v) === JSON.stringify(value);
  });
}
