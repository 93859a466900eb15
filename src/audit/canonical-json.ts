import { isLosslessNumber } from 'lossless-json';

/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): the one text of a JSON value that the audit chain
 * hashes. Objects have their keys sorted by UTF-16 code units (§3.2.3), numbers are written as
 * ECMAScript's Number-to-String writes them (§3.2.2.3), strings use the minimal JSON escapes
 * with lowercase hex (§3.2.2.2), and there is no whitespace. Unlike the kernel's
 * `canonicalFhirJson` (which keeps decimal text such as `1.50` for content hashes), JCS has
 * one spelling per IEEE 754 double, so any JCS implementation elsewhere can re-check our hashes.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (typeof value === 'number') return canonicalNumber(value);
  if (typeof value === 'string') return canonicalString(value);
  // FHIR JSON read losslessly may hold decimal text; JCS writes it as the double it denotes.
  if (isLosslessNumber(value)) return canonicalNumber(Number((value as { value: string }).value));
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    // Members whose value is undefined are not JSON: skipped, as JSON.stringify does.
    const keys = Object.keys(record)
      .filter((k) => record[k] !== undefined)
      .sort(compareCodeUnits);
    return `{${keys.map((k) => `${canonicalString(k)}:${canonicalJson(record[k])}`).join(',')}}`;
  }
  throw new TypeError(`RFC 8785: a ${typeof value} is not a JSON value`);
}

/** ECMAScript Number::toString (ECMA-262 §7.1.12.1) is exactly JCS's number form; -0 becomes 0. */
function canonicalNumber(n: number): string {
  if (!Number.isFinite(n)) throw new TypeError(`RFC 8785: ${n} is not a JSON number`);
  return Object.is(n, -0) ? '0' : String(n);
}

/** Sort order of §3.2.3: code unit by code unit, not by code point or locale. */
function compareCodeUnits(a: string, b: string): number {
  const len = Math.min(a.length, b.length);
  for (let i = 0; i < len; i++) {
    const d = a.charCodeAt(i) - b.charCodeAt(i);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

const SHORT_ESCAPES: Record<number, string> = {
  0x08: '\\b',
  0x09: '\\t',
  0x0a: '\\n',
  0x0c: '\\f',
  0x0d: '\\r',
  0x22: '\\"',
  0x5c: '\\\\',
};

/**
 * §3.2.2.2: `"` and `\` escaped, control characters below U+0020 as the short escape when
 * there is one, else `\u00xx` in lowercase hex; every other character as itself (also `/`,
 * U+007F and U+2028). A lone surrogate is not valid I-JSON (§3.1) and is refused.
 */
function canonicalString(s: string): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      const pairs = c <= 0xdbff && i + 1 < s.length && isLowSurrogate(s.charCodeAt(i + 1));
      if (!pairs) throw new TypeError(`RFC 8785: lone surrogate U+${c.toString(16)} at ${i}`);
      i++;
      continue;
    }
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c) continue;
    out += s.slice(start, i) + (SHORT_ESCAPES[c] ?? `\\u${c.toString(16).padStart(4, '0')}`);
    start = i + 1;
  }
  return `${out}${s.slice(start)}"`;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}
