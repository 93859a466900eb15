import ucum from '@lhncbc/ucum-lhc';
import { LosslessNumber, isLosslessNumber } from 'lossless-json';

/**
 * Conversions from what clinic exports write to FHIR primitives. Each returns the FHIR value or
 * throws a ConversionError whose text the runner places at the row/column or pointer.
 */
export class ConversionError extends Error {}

/** Dates as clinic systems write them: 2026-11-01, 2026/11/1, 2026.11.01, 2026年11月1日, 20261101. */
const DATE = /^(\d{4})(?:[-/.年](\d{1,2})[-/.月](\d{1,2})日?|(\d{2})(\d{2}))$/;
/** A time after the date: ` 08:30`, `T08:30:15`, `08:30:15.250`, optional `Z` / `+08:00` / `+0800`. */
const TIME = /^(\d{1,2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?\s*(Z|[+-]\d{2}:?\d{2})?$/;

export function toDate(text: string): string {
  const m = DATE.exec(text.trim());
  if (!m) throw new ConversionError(`"${text}" is not a date (expected e.g. 2026-11-01 or 2026/11/01)`);
  const y = Number(m[1]);
  const mo = Number(m[2] ?? m[4]);
  const d = Number(m[3] ?? m[5]);
  const date = new Date(Date.UTC(y, mo - 1, d));
  if (y < 1 || date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d)
    throw new ConversionError(`"${text}" is not a real calendar date`);
  return `${m[1]}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/**
 * A dateTime; a time without an offset is in the institution's timezone (CONTRACTS.md), and FHIR
 * needs seconds once a time is given: `2026/11/01 08:30` → `2026-11-01T08:30:00+08:00`.
 */
export function toDateTime(text: string, timezone: string): string {
  const t = text.trim();
  const split = /^(\S+?)(?:[T\s]+(.+))?$/.exec(t);
  if (!split) throw new ConversionError(`"${text}" is not a date/time`);
  const date = toDate(split[1]!);
  if (split[2] === undefined) return date;
  const m = TIME.exec(split[2].trim());
  if (!m) throw new ConversionError(`"${text}" is not a date/time (expected e.g. 2026/11/01 08:30)`);
  const [, h, mi, s = '00', frac = '', off] = m;
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59)
    throw new ConversionError(`"${text}" holds an impossible time of day`);
  const offset = normaliseOffset(off ?? timezone);
  return `${date}T${h!.padStart(2, '0')}:${mi}:${s}${frac}${offset}`;
}

export function normaliseOffset(tz: string): string {
  if (tz === 'Z' || tz === '') return '+00:00';
  const o = /^[+-]\d{4}$/.test(tz) ? `${tz.slice(0, 3)}:${tz.slice(3)}` : tz;
  if (!/^[+-](0\d|1[0-4]):[0-5]\d$/.test(o)) throw new ConversionError(`"${tz}" is not a UTC offset`);
  return o;
}

const DECIMAL = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/**
 * A FHIR decimal keeping the digits as written (`5.60` stays `5.60`: precision is clinical
 * information), as a LosslessNumber that the repository stores as numeric text.
 */
export function toDecimal(raw: unknown): LosslessNumber {
  const text = isLosslessNumber(raw) ? raw.value : typeof raw === 'number' ? String(raw) : String(raw).trim();
  if (!DECIMAL.test(text)) throw new ConversionError(`"${text}" is not a decimal number`);
  return new LosslessNumber(text);
}

export function toInteger(raw: unknown): number {
  const text = isLosslessNumber(raw) ? raw.value : String(raw).trim();
  const n = Number(text);
  if (!/^-?\d+$/.test(text) || n > 2147483647 || n < -2147483648)
    throw new ConversionError(`"${text}" is not a 32-bit integer`);
  return n;
}

export function toBoolean(raw: unknown): boolean {
  if (typeof raw === 'boolean') return raw;
  const t = String(raw).trim().toLowerCase();
  if (t === 'true') return true;
  if (t === 'false') return false;
  throw new ConversionError(`"${String(raw)}" is not true or false (use map: for other spellings)`);
}

const utils = ucum.UcumLhcUtils.getInstance();
const unitCache = new Map<string, UcumUnit>();

export interface UcumUnit {
  /** The UCUM code, when the unit is (or has exactly one suggested) UCUM. */
  code?: string;
  /** Why the unit is not coded (for the warning). */
  problem?: string;
}

/** `mmHg` → `mm[Hg]`: a unit is coded when valid UCUM or when ucum-lhc suggests exactly one unit. */
export function ucumUnit(unit: string): UcumUnit {
  const cached = unitCache.get(unit);
  if (cached) return cached;
  const v = utils.validateUnitString(unit, true);
  let result: UcumUnit;
  if (v.status === 'valid' && v.ucumCode) result = { code: v.ucumCode };
  else {
    const suggested = (v.suggestions ?? []).flatMap((s) => s.units.map((u) => u[0]));
    result =
      suggested.length === 1 && suggested[0]
        ? { code: suggested[0] }
        : {
            problem: `unit "${unit}" is not UCUM${suggested.length ? ` (maybe ${suggested.join(', ')})` : ''}`,
          };
  }
  unitCache.set(unit, result);
  return result;
}
