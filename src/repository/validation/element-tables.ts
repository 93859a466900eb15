import {
  getDataType,
  tryGetDataType,
  type InternalSchemaElement,
  type InternalTypeSchema,
} from '@medplum/core';
import { PRIMITIVE_PATTERNS } from './primitive-patterns.ts';
import { requiredCodes } from './required-codes.ts';

/**
 * What the walker needs to know of each R4 type, worked out once per type and kept: for every
 * JSON property name the type allows (choice types expanded, `valueQuantity` → `value[x]` as
 * Quantity) how its value is checked, and the required elements. Why: the walker runs on every
 * resource written and every resource mapped, and looking these up in the definitions per
 * element (string slicing, type-name capitalisation, map misses) was most of its time.
 */

/**
 * How a value is checked, decided once from its type code: `resource` (`contained`,
 * `Bundle.entry.resource`, a named resource type), the JSON primitives, `text` (a JSON string:
 * string, markdown, code, uri, date … with the R4 regex when the type has one), `complex` (an
 * object of a type the definitions describe) and `unchecked` (a type they do not describe).
 */
export type Check = 'resource' | 'integer' | 'decimal' | 'boolean' | 'text' | 'complex' | 'unchecked';

export interface ElementEntry {
  /** The JSON property name (`valueQuantity`). */
  readonly key: string;
  /** `_` + key: where the primitive's id/extension sit. */
  readonly extensionKey: string;
  readonly typeCode: string;
  readonly check: Check;
  readonly isArray: boolean;
  readonly max: number;
  /** The choice's base name (`value` for `valueQuantity`), for one-choice-per-`[x]`. */
  readonly choice: string | undefined;
  /** The choice group's bit in the walker's seen-mask (0 when not a choice). */
  readonly choiceBit: number;
  readonly pattern: RegExp | undefined;
  readonly isDate: boolean;
  /** `[min, max]` of the integer types. */
  readonly range: readonly [number, number] | undefined;
  /** The value set of a required binding on a `code` element (version dropped when shown). */
  readonly requiredValueSet: string | undefined;
  /** Its codes, expanded on first use (undefined: cannot be expanded, not checked). */
  codes: ReadonlySet<string> | undefined | null;
  /** The table of a Complex element's type, looked up on first use. */
  table: TypeTable | undefined | null;
}

export interface RequiredElement {
  /** The element name as the definitions give it (`value[x]`). */
  readonly name: string;
  /** The expression suffix an issue names (`value` for `value[x]`). */
  readonly shownName: string;
  readonly extensionKey: string;
  /** Non-zero for a choice: present when any of its types is. */
  readonly choiceBit: number;
}

export interface TypeTable {
  readonly typeName: string;
  readonly isResource: boolean;
  readonly entries: ReadonlyMap<string, ElementEntry>;
  readonly required: readonly RequiredElement[];
  readonly schema: InternalTypeSchema;
}

const INTEGER_RANGE: Record<string, readonly [number, number]> = {
  integer: [-2147483648, 2147483647],
  unsignedInt: [0, 2147483647],
  positiveInt: [1, 2147483647],
};
const DATE_TYPES = new Set(['date', 'dateTime', 'instant']);
const TEXT_TYPES = new Set([
  'string',
  'markdown',
  'xhtml',
  'uri',
  'url',
  'canonical',
  'code',
  'id',
  'oid',
  'uuid',
  'base64Binary',
  'date',
  'dateTime',
  'instant',
  'time',
]);

const tables = new Map<string, TypeTable | null>();

/** The table of a complex type or resource; undefined when the definitions do not describe it. */
export function typeTable(typeName: string): TypeTable | undefined {
  const hit = tables.get(typeName);
  if (hit !== undefined) return hit ?? undefined;
  const schema = schemaOf(typeName);
  const table = schema ? buildTable(typeName, schema) : undefined;
  tables.set(typeName, table ?? null);
  return table;
}

/** The table of a resource type; undefined for anything else. */
export function resourceTable(typeName: string): TypeTable | undefined {
  const table = typeTable(typeName);
  return table?.isResource ? table : undefined;
}

/** The codes a required binding allows, expanded once per element. */
export function codesOf(entry: ElementEntry): ReadonlySet<string> | undefined {
  if (entry.codes === null) entry.codes = requiredCodes(entry.requiredValueSet!);
  return entry.codes;
}

/** The complex type's table, looked up once per element. */
export function tableOf(entry: ElementEntry): TypeTable | undefined {
  if (entry.table === null) entry.table = typeTable(entry.typeCode);
  return entry.table;
}

function schemaOf(typeName: string): InternalTypeSchema | undefined {
  try {
    return tryGetDataType(typeName) ?? getDataType(typeName);
  } catch {
    return undefined;
  }
}

function buildTable(typeName: string, schema: InternalTypeSchema): TypeTable {
  const entries = new Map<string, ElementEntry>();
  const choiceBits = new Map<string, number>();
  const bitOf = (base: string) => {
    let bit = choiceBits.get(base);
    if (bit === undefined) {
      // More than 31 choice elements in one type would overflow the mask; R4 has at most a handful.
      if (choiceBits.size >= 31) throw new Error(`${typeName} has more than 31 choice elements`);
      choiceBits.set(base, (bit = 1 << choiceBits.size));
    }
    return bit;
  };
  const names = Object.keys(schema.elements);
  // Choice expansions first, the first [x] in definition order winning a name two could make…
  for (const name of names) {
    if (!name.endsWith('[x]')) continue;
    const element = schema.elements[name]!;
    const base = name.slice(0, -3);
    for (const t of element.type) {
      const key = base + t.code.charAt(0).toUpperCase() + t.code.slice(1);
      if (!entries.has(key)) entries.set(key, entryFor(key, element, t.code, base, bitOf(base)));
    }
  }
  // …then the elements by their own names, which a property names before any choice.
  for (const name of names) {
    const element = schema.elements[name]!;
    if (element.type.length >= 1)
      entries.set(name, entryFor(name, element, element.type[0]!.code, undefined, 0));
  }
  const required: RequiredElement[] = [];
  for (const name of names) {
    const element = schema.elements[name]!;
    if (element.min < 1) continue;
    const isChoice = name.endsWith('[x]');
    required.push({
      name,
      shownName: name.replace('[x]', ''),
      extensionKey: `_${name}`,
      choiceBit: isChoice ? bitOf(name.slice(0, -3)) : 0,
    });
  }
  return { typeName, isResource: schema.kind === 'resource', entries, required, schema };
}

function entryFor(
  key: string,
  element: InternalSchemaElement,
  typeCode: string,
  choice: string | undefined,
  choiceBit: number,
): ElementEntry {
  const binding = element.binding;
  const requiredValueSet =
    typeCode === 'code' && binding?.strength === 'required' && binding.valueSet
      ? binding.valueSet
      : undefined;
  return {
    key,
    extensionKey: `_${key}`,
    typeCode,
    check: checkFor(typeCode),
    isArray: element.isArray === true,
    max: element.max,
    choice,
    choiceBit,
    pattern: PRIMITIVE_PATTERNS[typeCode],
    isDate: DATE_TYPES.has(typeCode),
    range: INTEGER_RANGE[typeCode],
    requiredValueSet,
    codes: requiredValueSet ? null : undefined,
    table: null,
  };
}

/** In the order the checks were always tried: a resource type first, then primitives. */
function checkFor(typeCode: string): Check {
  if (typeCode === 'Resource' || schemaOf(typeCode)?.kind === 'resource') return 'resource';
  if (INTEGER_RANGE[typeCode]) return 'integer';
  if (typeCode === 'decimal') return 'decimal';
  if (typeCode === 'boolean') return 'boolean';
  if (TEXT_TYPES.has(typeCode)) return 'text';
  return schemaOf(typeCode) ? 'complex' : 'unchecked';
}
