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
 * numbers lose it, as they lose integers past 2^53. Most bodies hold no such number, so the
 * fast native parser reads them; a body with a suspicious number token goes through
 * `lossless-json`, which keeps those tokens as `LosslessNumber` (text). PostgreSQL's jsonb
 * keeps numeric text exactly, and reads serve the stored text, so precision survives the trip.
 *
 * Nesting is capped before parsing so that a hostile body (10,000 levels) gets a 400, not a
 * stack overflow in a recursive parser or validator.
 */
export const MAX_JSON_DEPTH = 100;

/** Numbers that JSON.parse would change: trailing decimal zeros, exponents, more than 15 digits. */
const LOSSY_NUMBER = /(?:^|[\s:[,])-?\d+(?:\.\d*0(?=[\s,\]}])|(?:\.\d+)?[eE][+-]?\d+)|\d{16,}/;

export function parseFhirJson(text: string, maxDepth = MAX_JSON_DEPTH): unknown {
  checkDepth(text, maxDepth);
  try {
    if (!LOSSY_NUMBER.test(text)) return JSON.parse(text);
    return losslessParse(text, null, (token: string) => {
      const n = Number(token);
      return String(n) === token ? n : new LosslessNumber(token);
    });
  } catch (err) {
    throw badRequest(`Malformed JSON: ${(err as Error).message}`, undefined, 'HIE-JSON-001');
  }
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

/** The exact text of a JSON number, whether it was parsed lossless or not. */
export function numberText(value: unknown): string | undefined {
  if (typeof value === 'number') return String(value);
  if (isLosslessNumber(value)) return (value as LosslessNumber).value;
  return undefined;
}

export function isJsonNumber(value: unknown): boolean {
  return typeof value === 'number' || isLosslessNumber(value);
}

/** Counts bracket depth outside strings; linear, no recursion. */
function checkDepth(text: string, maxDepth: number): void {
  let depth = 0;
  let inString = false;
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
  }
}
