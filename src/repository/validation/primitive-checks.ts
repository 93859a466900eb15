import { numberText } from '../../kernel/fhir-json.ts';
import { codesOf, type ElementEntry } from './element-tables.ts';
import { clip, isJsonNumber, isPlainObject, jsonType } from './json-values.ts';
import type { Walk } from './walk-context.ts';

/**
 * The checks of primitive values. Every string in the resource obeys the string rules: FHIR
 * forbids empty strings (send nothing instead), and text with a lone UTF-16 surrogate or a NUL
 * cannot be stored by PostgreSQL — refused here with the element named. Typed primitives also
 * obey their R4 format, their range (32-bit integers) and the calendar (real days).
 */

const FEBRUARY = 2;
const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The string rules on one string at the walk's place; true when it broke one. */
export function stringRulesBroken(w: Walk, s: string): boolean {
  if (s === '') w.stringIssue('value', 'Empty strings are not allowed in FHIR; omit the element');
  else if (!s.isWellFormed())
    w.stringIssue('value', 'The string holds a lone UTF-16 surrogate (not valid Unicode text)');
  else if (s.includes('\u0000')) w.stringIssue('value', 'The string holds a NUL character (U+0000)');
  else return false;
  return true;
}

/**
 * The string rules on every string in a value the structure walk does not look into (an unknown
 * element, a value of the wrong JSON type), and on property names.
 */
export function checkStringsIn(w: Walk, value: unknown): void {
  if (w.quietStrings > 0) return;
  if (typeof value === 'string') {
    stringRulesBroken(w, value);
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      w.enter(i);
      checkStringsIn(w, value[i]);
      w.leave();
    }
  } else if (isPlainObject(value)) {
    for (const key in value) {
      if (!key.isWellFormed()) {
        w.stringIssue('structure', 'A property name holds a lone surrogate');
        continue;
      }
      w.enter(key);
      checkStringsIn(w, value[key]);
      w.leave();
    }
  }
}

/** string, code, uri, date …: a JSON string in the type's R4 format (and binding, for codes). */
export function checkText(w: Walk, v: unknown, entry: ElementEntry): void {
  const type = entry.typeCode;
  if (typeof v !== 'string') {
    w.structureIssue('structure', `Expected a string (${type}), got ${jsonType(v)}`);
    checkStringsIn(w, v);
    return;
  }
  // A string problem is the one reported for this place; the format need not be looked at.
  if (stringRulesBroken(w, v) && (v === '' || w.quietStrings === 0)) return;
  if (entry.pattern !== undefined && !entry.pattern.test(v)) {
    w.structureIssue('value', `"${clip(v)}" is not a valid ${type}`);
    return;
  }
  if (entry.isDate && !isRealDay(v)) {
    w.structureIssue('value', `"${v}" is not a valid ${type} (no such day)`);
    return;
  }
  if (entry.requiredValueSet !== undefined) {
    const codes = codesOf(entry);
    if (codes && !codes.has(v)) {
      const shown = codes.size <= 12 ? ` (one of ${[...codes].join(', ')})` : '';
      w.structureIssue(
        'code-invalid',
        `"${clip(v)}" is not in the required value set ${entry.requiredValueSet.split('|')[0]}${shown}`,
      );
    }
  }
}

/**
 * A date, dateTime or instant that already matches its R4 format names a day the calendar has
 * (no 30 February, 29 February only in leap years). Read from the fixed positions of
 * `YYYY-MM-DD`, without building dates.
 */
export function isRealDay(v: string): boolean {
  if (v.length < 10) return true; // a year or a year and month: the format has checked the month
  const year = digits(v, 0, 4);
  const month = digits(v, 5, 2);
  const day = digits(v, 8, 2);
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= (month === FEBRUARY && leap ? 29 : DAYS_IN_MONTH[month]!);
}

function digits(s: string, from: number, count: number): number {
  let n = 0;
  for (let i = from; i < from + count; i++) n = n * 10 + (s.charCodeAt(i) - 48);
  return n;
}

/** integer, unsignedInt, positiveInt: a whole JSON number in the type's 32-bit range. */
export function checkInteger(w: Walk, v: unknown, entry: ElementEntry): void {
  const [min, max] = entry.range!;
  // The common case, a plain number in range, needs no text.
  if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return;
  const text = numberText(v);
  if (text === undefined) {
    w.structureIssue('structure', `Expected a whole number (${entry.typeCode}), got ${jsonType(v)}`);
    checkStringsIn(w, v);
    return;
  }
  const n = Number(text);
  if (!/^-?\d+$/.test(text) || !(n >= min && n <= max) || !Number.isSafeInteger(n))
    w.structureIssue(
      'value',
      `${text} is not a valid ${entry.typeCode} (a whole number from ${min} to ${max})`,
    );
}

/** decimal: any JSON number (kept as exact text when the parser kept it so). */
export function checkDecimal(w: Walk, v: unknown): void {
  if (isJsonNumber(v)) return;
  w.structureIssue('structure', `Expected a number, got ${jsonType(v)}`);
  checkStringsIn(w, v);
}

export function checkBoolean(w: Walk, v: unknown): void {
  if (typeof v === 'boolean') return;
  w.structureIssue('structure', `Expected true or false, got ${jsonType(v)}`);
  checkStringsIn(w, v);
}
