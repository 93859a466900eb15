import { isLosslessNumber } from 'lossless-json';

/**
 * Paths compile once, at load, into plain functions: a CSV column name reads a cell, an RFC 6901
 * pointer walks a JSON value. No expression language here — anything computed is FHIRPath.
 */
export type Reader = (node: unknown) => unknown;

/** A CSV cell: trimmed, and an empty cell reads as absent (exports write "" for "not measured"). */
export function csvReader(column: string): Reader {
  return (cells) => {
    const v = (cells as Record<string, string>)[column];
    if (v === undefined) return undefined;
    const t = v.trim();
    return t === '' ? undefined : t;
  };
}

/** RFC 6901 tokens of a pointer; throws on a string that is not a pointer. */
export function pointerTokens(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/'))
    throw new Error(`"${pointer}" is not a JSON pointer (it must start with "/")`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => {
      if (/~[^01]|~$/.test(t)) throw new Error(`"${pointer}" has an invalid ~ escape`);
      return t.replace(/~1/g, '/').replace(/~0/g, '~');
    });
}

/** A JSON value at a pointer; null, "" and missing all read as absent. */
export function jsonReader(pointer: string): Reader {
  const tokens = pointerTokens(pointer);
  return (root) => {
    let node: unknown = root;
    for (const t of tokens) {
      if (Array.isArray(node)) node = /^(0|[1-9]\d*)$/.test(t) ? node[Number(t)] : undefined;
      else if (node !== null && typeof node === 'object' && !isLosslessNumber(node))
        node = Object.prototype.hasOwnProperty.call(node, t)
          ? (node as Record<string, unknown>)[t]
          : undefined;
      else return undefined;
    }
    if (node === null || (typeof node === 'string' && node.trim() === '')) return undefined;
    return typeof node === 'string' ? node.trim() : node;
  };
}

interface Step {
  key: string;
  index?: number;
}

export type Setter = (resource: Record<string, unknown>, value: unknown) => void;

/**
 * `name[0].text` / `component[1].valueQuantity` / `identifier[]` (append) → a setter that creates
 * the objects and arrays on the way. Indexes are explicit because FHIR arrays must stay arrays.
 * `diagnosis[].condition` appends a new item per value and sets the rest of the path in it.
 */
export function compileTarget(target: string): Setter {
  const mid = target.indexOf('[].');
  if (mid >= 0) {
    const appendItem = compileTarget(target.slice(0, mid + 2));
    const setInItem = compileTarget(target.slice(mid + 3));
    return (resource, value) => {
      for (const v of Array.isArray(value) ? value : [value]) {
        const item: Record<string, unknown> = {};
        setInItem(item, v);
        appendItem(resource, item);
      }
    };
  }
  const append = target.endsWith('[]');
  const steps: Step[] = (append ? target.slice(0, -2) : target).split('.').map((part) => {
    const m = /^([A-Za-z][A-Za-z0-9]*)(?:\[(\d+)\])?$/.exec(part);
    if (!m) throw new Error(`"${target}" is not an element path (e.g. name[0].text, identifier[])`);
    return m[2] === undefined ? { key: m[1]! } : { key: m[1]!, index: Number(m[2]) };
  });
  return (resource, value) => {
    let node: Record<string, unknown> = resource;
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i]!;
      const last = i === steps.length - 1;
      if (last && append) {
        const arr = (node[step.key] ??= []) as unknown[];
        // A list (HL7 `[*]` repetitions) appends item by item: FHIR arrays never nest.
        if (Array.isArray(value)) arr.push(...(value as unknown[]));
        else arr.push(value);
      } else if (step.index === undefined) {
        if (last) node[step.key] = value;
        else node = (node[step.key] ??= {}) as Record<string, unknown>;
      } else {
        const arr = (node[step.key] ??= []) as unknown[];
        // Fill gaps so that `[1]` before `[0]` still yields a dense array (FHIR forbids nulls).
        while (arr.length < step.index) arr.push({});
        if (last) arr[step.index] = value;
        else node = (arr[step.index] ??= {}) as Record<string, unknown>;
      }
    }
  };
}
