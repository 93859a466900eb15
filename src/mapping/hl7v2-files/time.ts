import type { Hl7Location } from '../types.ts';
import { MappingError } from '../types.ts';

/**
 * HL7 TS/DTM (`YYYY[MM[DD[HH[MM[SS[.S…]]]]]][+/-ZZZZ]`) → FHIR. A time without an offset is in
 * the institution's timezone (CONTRACTS.md "Code systems"); FHIR dateTime needs seconds once a
 * time is given, so `HHMM` becomes `HH:MM:00`.
 */
const TS =
  /^(\d{4})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d{1,4}))?)?)?)?)?)?([+-]\d{4})?$/;

export interface Hl7Time {
  /** FHIR dateTime: `2024`, `2024-03`, `2024-03-05` or `2024-03-05T08:30:00+08:00`. */
  dateTime: string;
  /** FHIR date part only. */
  date: string;
  hasTime: boolean;
}

function invalid(value: string, at: Hl7Location): MappingError {
  const where = `${at.segment}-${at.field ?? ''}`;
  return new MappingError([
    {
      severity: 'error',
      text: `${where}: "${value}" is not a valid HL7 date/time`,
      hl7: { ...at, code: '102' },
    },
  ]);
}

export function parseHl7Time(value: string, timezone: string, at: Hl7Location): Hl7Time {
  const m = TS.exec(value.trim());
  if (!m) throw invalid(value, at);
  const [, y, mo, d, h, mi, s, frac, off] = m;
  const year = Number(y);
  if (year < 1) throw invalid(value, at);
  if (mo !== undefined && (Number(mo) < 1 || Number(mo) > 12)) throw invalid(value, at);
  if (d !== undefined) {
    const date = new Date(Date.UTC(year, Number(mo) - 1, Number(d)));
    if (date.getUTCDate() !== Number(d) || date.getUTCMonth() !== Number(mo) - 1) throw invalid(value, at);
  }
  if (h !== undefined && Number(h) > 23) throw invalid(value, at);
  if (mi !== undefined && Number(mi) > 59) throw invalid(value, at);
  if (s !== undefined && Number(s) > 59) throw invalid(value, at);
  const date = [y, mo, d].filter((x) => x !== undefined).join('-');
  if (h === undefined) {
    if (off !== undefined && d === undefined) throw invalid(value, at);
    return { dateTime: date, date, hasTime: false };
  }
  const offset = off ? `${off.slice(0, 3)}:${off.slice(3)}` : normaliseOffset(timezone);
  if (!/^[+-](0\d|1[0-4]):[0-5]\d$/.test(offset)) throw invalid(value, at);
  const time = `${h}:${mi ?? '00'}:${s ?? '00'}${frac ? '.' + frac : ''}`;
  return { dateTime: `${date}T${time}${offset}`, date, hasTime: true };
}

/** `+08:00`, `+0800` or `Z` → `+08:00`. */
function normaliseOffset(tz: string): string {
  if (tz === 'Z' || tz === '') return '+00:00';
  return /^[+-]\d{4}$/.test(tz) ? `${tz.slice(0, 3)}:${tz.slice(3)}` : tz;
}

/** FHIR `instant` (seconds and offset required): a date-only value becomes midnight. */
export function toInstant(t: Hl7Time, timezone: string): string {
  if (t.hasTime) return t.dateTime;
  const [y, m = '01', d = '01'] = t.date.split('-');
  return `${y}-${m}-${d}T00:00:00${normaliseOffset(timezone)}`;
}
