import {
  LosslessNumber,
  isLosslessNumber,
  parse as losslessParse,
  stringify as losslessStringify,
} from 'lossless-json';
import { badRequest } from './outcomes.ts';

/**
 * Reading FHIR JSON safely.
 *
 * FHIR decimals carry their precision in their text (`1.50` is not `1.5`), and JavaScript
 * numbers lose it, as they lose integers past 2^53. Such tokens are kept as `LosslessNumber`
 * (text). Most bodies hold none, and the native parser reads them as they are; in the others the
 * tokens are marked first so that the native parser still reads them (`scanJson`), and
 * `lossless-json` reads only what marking cannot. PostgreSQL keeps the stored text exactly, and
 * reads serve it, so precision survives the trip.
 *
 * Nesting is capped before parsing so that a hostile body (10,000 levels) gets a 400, not a
 * stack overflow in a recursive parser or validator.
 */
export const MAX_JSON_DEPTH = 100;

/** Numbers that JSON.parse would change: trailing decimal zeros, exponents, more than 15 digits. */
const LOSSY_NUMBER =
  /(?:^|[\s:[,])-0(?=[\s,\]}]|$)|(?:^|[\s:[,])-?\d+(?:\.\d*0(?=[\s,\]}]|$)|(?:\.\d+)?[eE][+-]?\d+)|\d{16,}/;

export function parseFhirJson(text: string, maxDepth = MAX_JSON_DEPTH): unknown {
  const lossy = LOSSY_NUMBER.test(text);
  const scan = scanJson(text, maxDepth, lossy && !MARK_IN_TEXT.test(text));
  try {
    let value: unknown;
    if (!lossy) value = JSON.parse(text);
    else if (scan.marked !== undefined) {
      try {
        value = reviveMarked(JSON.parse(scan.marked));
      } catch {
        // Malformed: lossless-json below says what is wrong, at its place in the text as sent.
      }
    }
    value ??= losslessParse(text, null, (token: string) => {
      const n = Number(token);
      return String(n) === token ? n : new LosslessNumber(token);
    });
    // A name twice in one object: the native parser keeps the last value and drops the other
    // without a word. Fewer names parsed than written says so.
    if (countMembers(value) !== scan.members) throw new Error(duplicateName(text));
    return value;
  } catch (err) {
    throw badRequest(`Malformed JSON: ${(err as Error).message}`, undefined, 'HIE-JSON-001');
  }
}

/** Where a name first appears twice in one object (the text is valid JSON). */
function duplicateName(text: string): string {
  const objects: (Set<string> | undefined)[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{') objects.push(new Set());
    else if (c === '[') objects.push(undefined);
    else if (c === '}' || c === ']') objects.pop();
    else if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      let next = end + 1;
      while (/\s/.test(text[next] ?? '')) next++;
      const names = objects.at(-1);
      if (names && text[next] === ':') {
        const name = JSON.parse(text.slice(i, end + 1)) as string;
        if (names.has(name))
          return `the name ${JSON.stringify(name)} appears twice in one object (position ${i})`;
        names.add(name);
      }
      i = end;
    }
  }
  return 'a name appears twice in one object';
}

/** Names in all objects of a parsed value (each written name is one `:` in valid JSON). */
function countMembers(value: unknown): number {
  let n = 0;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      if (v !== null && typeof v === 'object') n += countMembers(v);
    }
    return n;
  }
  if (value === null || typeof value !== 'object' || value instanceof LosslessNumber) return 0;
  const o = value as Record<string, unknown>;
  const keys = Object.keys(o);
  n = keys.length;
  for (let i = 0; i < keys.length; i++) {
    const v = o[keys[i]!];
    if (v !== null && typeof v === 'object') n += countMembers(v);
  }
  return n;
}

/** Leads a string that stands for a number token: a private-use character (a text holding it takes the slow way). */
const MARK = '\uE000';
const MARK_IN_TEXT = /\uE000|\\u[eE]000/;
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/**
 * One linear pass, no recursion: refuses nesting deeper than `maxDepth` (so a hostile body gets a
 * 400, not a stack overflow in a recursive parser or validator), and with `mark` rewrites each
 * number token that JSON.parse would change as a string led by `MARK`, for `reviveMarked` to turn
 * back into a `LosslessNumber`. So the native parser reads exact numbers too: a 6 kB lab result
 * Bundle, the bulk of a worker's parsing, took ~96 µs through `lossless-json` and ~65 µs so.
 * Also counts the names written (a `:` outside strings), so that a name given twice is noticed.
 * The marked text is undefined when not asked to mark or a token to mark is no number.
 */
function scanJson(
  text: string,
  maxDepth: number,
  mark: boolean,
): { marked: string | undefined; members: number } {
  let depth = 0;
  let members = 0;
  let inString = false;
  let markable = mark;
  let out = '';
  let copied = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) {
        throw badRequest(`JSON nested deeper than ${maxDepth} levels`, undefined, 'HIE-JSON-002');
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
    else if (c === 0x3a) members++;
    else if (markable && (c === 0x2d || (c >= 0x30 && c <= 0x39))) {
      let end = i + 1;
      while (end < text.length && isNumberChar(text.charCodeAt(end))) end++;
      const token = text.slice(i, end);
      if (String(Number(token)) !== token) {
        if (JSON_NUMBER.test(token)) {
          out += `${text.slice(copied, i)}"${MARK}${token}"`;
          copied = end;
        } else markable = false;
      }
      i = end - 1;
    }
  }
  if (!markable) return { marked: undefined, members };
  return { marked: copied === 0 ? text : out + text.slice(copied), members };
}

/** Digits, `.`, `e`/`E`, `+`, `-`: what a number token may hold. */
function isNumberChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d;
}

/** Marked strings back to numbers, in place; a marked key means the token was no value (malformed). */
function reviveMarked(value: unknown): unknown {
  if (typeof value === 'string')
    return value.charCodeAt(0) === 0xe000 ? new LosslessNumber(value.slice(1)) : value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = reviveMarked(value[i]);
  } else if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (k.charCodeAt(0) === 0xe000) throw new Error('a number where a name belongs');
      o[k] = reviveMarked(o[k]);
    }
  }
  return value;
}

/** Serialises a value that may hold `LosslessNumber`s, keeping their exact text. */
export function stringifyFhirJson(value: unknown): string {
  return containsLossless(value) ? losslessStringify(value)! : JSON.stringify(value);
}

function containsLossless(value: unknown): boolean {
  if (isLosslessNumber(value)) return true;
  if (Array.isArray(value)) return value.some(containsLossless);
  if (value !== null && typeof value === 'object') return Object.values(value).some(containsLossless);
  return false;
}

/**
 * Keys sorted, no whitespace, exact number text: the same content always gives the same text,
 * whatever the key order (the store keeps its own). For content hashes and equality checks.
 */
export function canonicalFhirJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalFhirJson).join(',')}]`;
  if (value !== null && typeof value === 'object' && !isLosslessNumber(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalFhirJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return stringifyFhirJson(value);
}

/** A copy with every `LosslessNumber` turned into a plain number, for code that expects numbers. */
export function toPlainNumbers<T>(value: T): T {
  if (isLosslessNumber(value)) return Number((value as LosslessNumber).value) as T;
  if (Array.isArray(value)) return value.map(toPlainNumbers) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toPlainNumbers(v);
    return out as T;
  }
  return value;
}

/**
 * A deep copy of parsed JSON that keeps each `LosslessNumber` (immutable, so shared). What
 * `structuredClone` cannot do (it turns class instances into plain objects), at a fraction of a
 * stringify-and-parse round trip's cost.
 */
export function copyFhirJson<T>(value: T): T {
  if (Array.isArray(value)) return value.map(copyFhirJson) as T;
  if (value === null || typeof value !== 'object' || isLosslessNumber(value)) return value;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value)) out[k] = copyFhirJson((value as Record<string, unknown>)[k]);
  return out as T;
}

/** The exact text of a JSON number, whether it was parsed lossless or not. */
export function numberText(value: unknown): string | undefined {
  if (typeof value === 'number') return String(value);
  if (isLosslessNumber(value)) return (value as LosslessNumber).value;
  return undefined;
}

export function isJsonNumber(value: unknown): boolean {
  return typeof value === 'number' || isLosslessNumber(value);
}
