/**
 * Orders entries so that every `partOf` parent comes before its children (the Organization
 * projection needs the parent to exist before a reference to it is written; the seed checks a
 * child against its parent). Input order is kept otherwise. A parent outside the list counts as
 * present; a cycle, which validation refuses, is broken by emitting the rest in input order.
 */
export function dependencyOrder<T extends { id: string; partOf?: string | undefined }>(items: T[]): T[] {
  const byId = new Map(items.map((i) => [i.id, i]));
  const done = new Set<string>();
  const out: T[] = [];
  const visit = (item: T, path: Set<string>) => {
    if (done.has(item.id) || path.has(item.id)) return;
    path.add(item.id);
    const parent = item.partOf === undefined ? undefined : byId.get(item.partOf);
    if (parent) visit(parent, path);
    done.add(item.id);
    out.push(item);
  };
  for (const item of items) visit(item, new Set());
  return out;
}
