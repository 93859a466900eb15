import { badRequest } from '../../kernel/outcomes.ts';
import type { DatePrefix, DateValue, NumberValue, TokenValue } from './types.ts';

/**
 * Parsing of search parameter values (FHIR R4 search §3.1.1.4 and §3.1.1.5). Pure functions;
 * every failure is a 400 naming the parameter, because ignoring a value the client meant as a
 * filter would silently widen the result.
 */

/** Splits on `sep` where it is not escaped with `\`; pieces keep their escapes. */
export function splitEscaped(value: string, sep: string): string[] {
  const out: string[] = [];
  let current = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '\\' && i + 1 < value.length) {
      current += c + value[i + 1];
      i++;
    } else if (c === sep) {
      out.push(current);
      current = '';
    } else current += c;
  }
  out.push(current);
  return out;
}

/** Removes the FHIR search escapes `\,` `\$` `\|` `\\`; any other backslash is literal. */
export function unescapeValue(value: string): string {
  return value.replace(/\\([,$|\\])/g, '$1');
}

/** Comma = OR within one parameter. */
export function splitOr(value: string): string[] {
  return splitEscaped(value, ',');
}

/**
 * The string index's normal form: NFKC (full-width → ASCII), lower case, accents removed.
 * Must equal what the index writer stores in `sp_string.norm`.
 */
export function normalizeSearchString(value: string): string {
  return value.normalize('NFKC').toLowerCase().normalize('NFD').replace(/\p{M}/gu, '').normalize('NFC');
}

/** The `grams` a `:contains` query needs: its 2-character pieces, or the one character itself. */
export function containsGrams(norm: string): string[] {
  const chars = Array.from(norm);
  if (chars.length <= 1) return chars;
  const grams = new Set<string>();
  for (let i = 0; i + 1 < chars.length; i++) grams.add(chars[i]! + chars[i + 1]!);
  return [...grams];
}

/** Escapes LIKE's wildcards (`%`, `_`) and its escape character, so a value matches literally. */
export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

const DATE_PREFIXES = new Set<string>(['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'sa', 'eb']);
const NUMBER_PREFIXES = new Set<string>(['eq', 'ne', 'lt', 'le', 'gt', 'ge']);
const ANY_PREFIX = /^(eq|ne|lt|le|gt|ge|sa|eb|ap)(?=[-+\d.])/;

function splitPrefix(value: string): { prefix: string; rest: string } {
  const m = ANY_PREFIX.exec(value);
  return m ? { prefix: m[1]!, rest: value.slice(2) } : { prefix: 'eq', rest: value };
}

const DATE_RE =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/**
 * A date query value as the half-open range its precision spans: `2020` is the whole year,
 * `2020-05-01T10:00` one minute. A time without a timezone is taken as UTC (the index stores
 * instants; the server has no caller timezone to assume), and so are bare dates.
 */
export function parseDateValue(raw: string, param: string): DateValue {
  const { prefix, rest } = splitPrefix(raw);
  if (!DATE_PREFIXES.has(prefix))
    throw badRequest(`Prefix '${prefix}' is not supported on date parameter ${param}`, param);
  // An unencoded '+' in a query string arrives as a space.
  const text = rest.replace(/ (\d{2}:\d{2})$/, '+$1');
  const m = DATE_RE.exec(text);
  if (!m) throw badRequest(`Parameter ${param}: '${raw}' is not a FHIR date or dateTime`, param);
  const [, y, mo, d, h, mi, s, frac, tz] = m;
  const year = Number(y);
  const month = mo ? Number(mo) : 1;
  const day = d ? Number(d) : 1;
  const hour = h ? Number(h) : 0;
  const minute = mi ? Number(mi) : 0;
  const second = s ? Number(s) : 0;
  const millis = frac ? Number(frac.slice(0, 3).padEnd(3, '0')) : 0;
  const valid =
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth(year, month) &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59;
  if (!valid) throw badRequest(`Parameter ${param}: '${raw}' is not a valid date`, param);
  const offset = tzOffsetMillis(tz);
  const lo = utc(year, month, day, hour, minute, second, millis) - offset;
  let next: number;
  if (!mo) next = utc(year + 1, 1, 1, 0, 0, 0, 0) - offset;
  else if (!d) next = utc(year, month + 1, 1, 0, 0, 0, 0) - offset;
  else if (!h) next = lo + 86_400_000;
  else if (!s) next = lo + 60_000;
  else if (!frac) next = lo + 1_000;
  else next = lo + (frac.length >= 3 ? 1 : 10 ** (3 - frac.length));
  return { prefix: prefix as DatePrefix, lo: isoOrInfinity(lo), next: isoOrInfinity(next) };
}

function utc(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number): number {
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d); // setUTCFullYear keeps years below 100 literal
  date.setUTCHours(h, mi, s, ms);
  return date.getTime();
}

function daysInMonth(year: number, month: number): number {
  return new Date(utc(year, month + 1, 1, 0, 0, 0, 0) - 86_400_000).getUTCDate();
}

function tzOffsetMillis(tz: string | undefined): number {
  if (!tz || tz === 'Z') return 0;
  const sign = tz.startsWith('-') ? -1 : 1;
  const hours = Number(tz.slice(1, 3));
  const minutes = Number(tz.slice(4, 6));
  if (hours > 14 || minutes > 59) throw badRequest(`Timezone offset '${tz}' is out of range`);
  return sign * (hours * 60 + minutes) * 60_000;
}

/** Years past 9999 cannot be written as FHIR dates; the range simply has no upper end. */
function isoOrInfinity(ms: number): string {
  return new Date(ms).getUTCFullYear() > 9999 ? 'infinity' : new Date(ms).toISOString();
}

const NUMBER_RE = /^([-+]?)(\d+)(?:\.(\d+))?(?:[eE]([-+]?\d+))?$/;

/** A decimal query value; `eq` spans its implicit precision (`100` = [99.5, 100.5)). */
export function parseNumberValue(raw: string, param: string): NumberValue {
  const { prefix, rest } = splitPrefix(raw);
  if (!NUMBER_PREFIXES.has(prefix)) {
    throw badRequest(`Prefix '${prefix}' is not supported on number/quantity parameter ${param}`, param);
  }
  const m = NUMBER_RE.exec(rest);
  if (!m) throw badRequest(`Parameter ${param}: '${raw}' is not a number`, param);
  const decimals = m[3]?.length ?? 0;
  const exponent = m[4] ? Number(m[4]) : 0;
  if (Math.abs(exponent) > 1000)
    throw badRequest(`Parameter ${param}: exponent of '${raw}' is out of range`, param);
  const value = rest.startsWith('+') ? rest.slice(1) : rest;
  return { prefix: prefix as NumberValue['prefix'], value, half: `5e${exponent - decimals - 1}` };
}

/**
 * `code`, `system|code`, `|code` (no system) or `system|`. A comparison prefix before a digit
 * (`ge5`) is refused: tokens match exactly, so a client sending one expects a range that would
 * silently never match.
 */
export function parseTokenValue(raw: string, param: string): TokenValue {
  const parts = splitEscaped(raw, '|').map(unescapeValue);
  if (parts.length === 1) {
    if (/^(eq|ne|lt|le|gt|ge|sa|eb|ap)[-+]?\d/.test(parts[0]!)) {
      throw badRequest(
        `Parameter ${param}: comparison prefixes are not allowed on token parameters ('${raw}')`,
        param,
      );
    }
    return { system: undefined, code: parts[0]! };
  }
  if (parts.length !== 2 || (parts[0] === '' && parts[1] === '')) {
    throw badRequest(
      `Parameter ${param}: '${raw}' is not a token (code, system|code, |code or system|)`,
      param,
    );
  }
  return { system: parts[0] === '' ? null : parts[0], code: parts[1] === '' ? undefined : parts[1] };
}

/** `:missing=true|false`. */
export function parseBoolean(raw: string, param: string): boolean {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw badRequest(`Parameter ${param}: expected true or false, got '${raw}'`, param);
}
