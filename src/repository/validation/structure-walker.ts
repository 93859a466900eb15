import { resourceTable, tableOf, typeTable, type ElementEntry, type TypeTable } from './element-tables.ts';
import { isPlainObject, jsonType } from './json-values.ts';
import { checkBoolean, checkDecimal, checkInteger, checkStringsIn, checkText } from './primitive-checks.ts';
import type { Walk } from './walk-context.ts';

/**
 * Structural validation of a resource against the R4 definitions, in one walk over the JSON:
 * unknown elements, JSON types, primitive formats (R4 regexes), arrays vs single values,
 * cardinality (min/max), one choice per `[x]`, required bindings on `code` elements, 32-bit
 * integers, real calendar dates, nested resources (`contained`, `Bundle.entry.resource`) — and
 * the string rules on every string, including those the structure rules do not look into.
 *
 * Why our own walk instead of a generic validator: at the door every resource of every
 * transaction is checked, and a validator that also evaluates every FHIRPath invariant costs
 * ~2.7 ms a resource here (the ingest's bottleneck); this walk costs a few µs. Invariants (and
 * profiles) are checked where they matter — the mapping stage's profile validation. It builds
 * nothing per element: the per-type tables are made once, the path only for an issue.
 */
export function walkResource(w: Walk, value: unknown): void {
  if (!isPlainObject(value)) {
    w.structureIssue('structure', 'A resource must be a JSON object');
    checkStringsIn(w, value);
    return;
  }
  const type = value.resourceType;
  const table = typeof type === 'string' ? resourceTable(type) : undefined;
  if (!table) {
    w.structureIssue('structure', `"${String(type)}" is not an R4 resource type`, 'resourceType');
    checkStringsIn(w, value);
    return;
  }
  const id = value.id;
  if (id !== undefined && (typeof id !== 'string' || !RESOURCE_ID.test(id)))
    w.structureIssue('value', `"${String(id)}" is not a valid id (1-64 of A-Z a-z 0-9 - .)`, 'id');
  walkComplex(w, value, table, true);
}

const RESOURCE_ID = /^[A-Za-z0-9\-.]{1,64}$/;
const UNDERSCORE = 95;

function walkComplex(w: Walk, obj: Record<string, unknown>, table: TypeTable, isResource: boolean): void {
  if (hasNoContent(obj, isResource)) {
    w.structureIssue('structure', 'An element must have a value or children (ele-1)');
    checkStringsIn(w, obj);
    return;
  }
  /** One bit per choice group met (`value[x]`), for one-choice-per-[x] and required choices. */
  let seenChoices = 0;
  for (const key in obj) {
    // A resource's type was checked by whoever found its table.
    if (isResource && key === 'resourceType') continue;
    const v = obj[key];
    if (key.charCodeAt(0) === UNDERSCORE) {
      walkPrimitiveExtension(w, key, v);
      continue;
    }
    const entry = table.entries.get(key);
    if (entry === undefined) {
      w.structureIssue('structure', `Unknown element "${key}"`, key);
      checkUnknownStrings(w, key, v);
      continue;
    }
    if (entry.choiceBit !== 0) {
      if ((seenChoices & entry.choiceBit) !== 0)
        w.structureIssue(
          'structure',
          `Only one of ${previousChoice(obj, key, entry, table)} and ${key} may be present (${entry.choice}[x])`,
          key,
        );
      seenChoices |= entry.choiceBit;
    }
    w.enter(key);
    if (entry.isArray) walkArray(w, v, entry, obj);
    else if (Array.isArray(v)) {
      w.structureIssue('structure', `Expected a single value for ${key}, not an array`);
      checkStringsIn(w, v);
    } else walkValue(w, v, entry, obj);
    w.leave();
  }
  for (const r of table.required) {
    const present =
      r.choiceBit !== 0
        ? (seenChoices & r.choiceBit) !== 0
        : obj[r.name] !== undefined || obj[r.extensionKey] !== undefined;
    if (!present) w.structureIssue('required', `Missing required element ${r.name}`, r.shownName);
  }
}

/** ele-1: no properties at all, or (below a resource) only a `resourceType`. */
function hasNoContent(obj: Record<string, unknown>, isResource: boolean): boolean {
  let count = 0;
  let first: string | undefined;
  for (const key in obj) {
    if (count++ === 0) first = key;
    else return false;
  }
  return count === 0 || (first === 'resourceType' && !isResource);
}

function walkArray(w: Walk, v: unknown, entry: ElementEntry, parent: Record<string, unknown>): void {
  const key = entry.key;
  if (!Array.isArray(v)) {
    w.structureIssue('structure', `Expected an array for ${key}`);
    checkStringsIn(w, v);
    return;
  }
  if (v.length === 0) w.structureIssue('structure', `Empty array for ${key} (leave the element out)`);
  if (entry.max !== Infinity && v.length > entry.max)
    w.structureIssue('structure', `At most ${entry.max} ${key} allowed, found ${v.length}`);
  for (let i = 0; i < v.length; i++) {
    w.enter(i);
    walkValue(w, v[i], entry, parent);
    w.leave();
  }
}

function walkValue(w: Walk, v: unknown, entry: ElementEntry, parent: Record<string, unknown>): void {
  if (v === null) {
    // JSON null is allowed only inside arrays of primitives whose extensions fill the gap.
    const extension = parent[entry.extensionKey];
    if (!(entry.isArray ? Array.isArray(extension) : extension !== undefined))
      w.structureIssue('structure', 'null is not a FHIR value');
    return;
  }
  switch (entry.check) {
    case 'text':
      return checkText(w, v, entry);
    case 'complex':
      return walkComplexValue(w, v, entry);
    case 'resource':
      return walkResource(w, v);
    case 'integer':
      return checkInteger(w, v, entry);
    case 'decimal':
      return checkDecimal(w, v);
    case 'boolean':
      return checkBoolean(w, v);
    case 'unchecked':
      return checkStringsIn(w, v);
  }
}

function walkComplexValue(w: Walk, v: unknown, entry: ElementEntry): void {
  const table = tableOf(entry);
  if (!table) return checkStringsIn(w, v);
  if (!isPlainObject(v)) {
    w.structureIssue('structure', `Expected an object (${entry.typeCode}), got ${jsonType(v)}`);
    checkStringsIn(w, v);
    return;
  }
  walkComplex(w, v, table, false);
}

/** `_birthDate`: an Element (id, extension) or, for arrays, an array of Elements / nulls. */
function walkPrimitiveExtension(w: Walk, key: string, v: unknown): void {
  // A name that is not valid Unicode is reported once; what lies below is still walked.
  const badName = !key.isWellFormed();
  if (badName) {
    w.stringIssue('structure', 'A property name holds a lone surrogate');
    w.quietStrings++;
  }
  w.enter(key);
  const element = typeTable('Element');
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      w.enter(i);
      walkExtensionItem(w, v[i], element);
      w.leave();
    }
  } else walkExtensionItem(w, v, element);
  w.leave();
  if (badName) w.quietStrings--;
}

function walkExtensionItem(w: Walk, item: unknown, element: TypeTable | undefined): void {
  if (item === null) return;
  if (!isPlainObject(item) || !element) {
    w.structureIssue('structure', 'Expected an object with id/extension');
    checkStringsIn(w, item);
  } else walkComplex(w, item, element, false);
}

/** An unknown element's value is not walked, but its strings (and its name) obey the string rules. */
function checkUnknownStrings(w: Walk, key: string, v: unknown): void {
  if (!key.isWellFormed()) {
    w.stringIssue('structure', 'A property name holds a lone surrogate');
    return;
  }
  w.enter(key);
  checkStringsIn(w, v);
  w.leave();
}

/** The choice of the same `[x]` met last before `key` (only asked when there are two). */
function previousChoice(
  obj: Record<string, unknown>,
  key: string,
  entry: ElementEntry,
  table: TypeTable,
): string {
  const keys = Object.keys(obj);
  for (let i = keys.indexOf(key) - 1; i >= 0; i--) {
    const k = keys[i]!;
    if (k.charCodeAt(0) !== UNDERSCORE && table.entries.get(k)?.choice === entry.choice) return k;
  }
  return '';
}
