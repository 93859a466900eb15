/**
 * Re-pointing the references of one resource from a merged record to its survivor, and back.
 * Each change is kept with its JSON path, so that `$unmerge` puts back exactly the references the
 * merge changed — not a reference written to the survivor later, which stays where it was put.
 */

/** Keys and array indexes from the resource root to a `reference` string. */
export type JsonPath = (string | number)[];

export interface ReferenceChange {
  path: JsonPath;
  from: string;
  to: string;
}

/**
 * Rewrites in place every `reference` that names `fromRef` (`Patient/{id}`), relative or absolute
 * on this server's base, to `toRef` in the same form. Versioned references (`…/_history/n`) name
 * one version of the record on purpose and are left alone.
 */
export function repointReferences(
  resource: unknown,
  fromRef: string,
  toRef: string,
  baseUrl: string,
): ReferenceChange[] {
  const changes: ReferenceChange[] = [];
  const absolute = `${baseUrl.replace(/\/$/, '')}/`;
  walk(resource, [], (holder, key, path) => {
    const value = holder[key];
    if (typeof value !== 'string') return;
    const prefix = value.startsWith(absolute) ? absolute : '';
    if (value.slice(prefix.length) !== fromRef) return;
    const to = prefix + toRef;
    holder[key] = to;
    changes.push({ path, from: value, to });
  });
  return changes;
}

/**
 * Puts back the changes a merge recorded, in place: a path that no longer holds the re-pointed
 * value (the resource was edited since) is left alone and reported as skipped.
 */
export function restoreReferences(
  resource: unknown,
  changes: readonly ReferenceChange[],
): { restored: ReferenceChange[]; skipped: ReferenceChange[] } {
  const restored: ReferenceChange[] = [];
  const skipped: ReferenceChange[] = [];
  for (const change of changes) {
    const parent = change.path.slice(0, -1).reduce<unknown>((node, step) => {
      if (node === null || typeof node !== 'object') return undefined;
      return (node as Record<string | number, unknown>)[step];
    }, resource);
    const last = change.path[change.path.length - 1];
    const holder = parent as Record<string | number, unknown> | undefined;
    if (holder && typeof holder === 'object' && last !== undefined && holder[last] === change.to) {
      holder[last] = change.from;
      restored.push(change);
    } else {
      skipped.push(change);
    }
  }
  return { restored, skipped };
}

/** Calls `visit` for every `reference` key of every object in the tree. */
function walk(
  node: unknown,
  path: JsonPath,
  visit: (holder: Record<string, unknown>, key: string, path: JsonPath) => void,
): void {
  if (Array.isArray(node)) {
    node.forEach((item, i) => walk(item, [...path, i], visit));
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const record = node as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (key === 'reference') visit(record, key, [...path, key]);
    else walk(record[key], [...path, key], visit);
  }
}
