import { isLosslessNumber } from 'lossless-json';

/**
 * A JSON object (not an array, not a number kept as exact text). Objects straight from
 * `JSON.parse` or a literal have `Object.prototype` and are answered without asking
 * lossless-json, whose test reads a symbol through the prototype chain of every object.
 */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  return Object.getPrototypeOf(v) === Object.prototype || !isLosslessNumber(v);
}

export function isJsonNumber(v: unknown): boolean {
  return typeof v === 'number' || isLosslessNumber(v);
}

/** How an issue names the JSON type it found. */
export function jsonType(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  if (isJsonNumber(v)) return 'a number';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** A value shown in a diagnostic, cut to 60 characters. */
export function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
