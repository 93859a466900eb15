/**
 * Dates of the care timeline, counted in days before the as-of date, in the county's offset.
 * Everything derives from `asOf` (never the clock), so a seed and a date give the same county.
 */

const DAY_MS = 86_400_000;
export const COUNTY_OFFSET = '+08:00';

export interface Clock {
  asOf: string;
  /** `YYYY-MM-DD` of the day `daysBefore` days before asOf. */
  date(daysBefore: number): string;
  /** `YYYY-MM-DDTHH:MM:00+08:00`, `minuteOfDay` minutes after local midnight. */
  at(daysBefore: number, minuteOfDay: number): string;
  /** Whole days from `date` (`YYYY-MM-DD`) to asOf (positive: the date is in the past). */
  daysSince(date: string): number;
  /** Age in whole years on asOf. */
  age(birthDate: string): number;
}

function utcDay(date: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) throw new Error(`not a YYYY-MM-DD date: ${date}`);
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

export function makeClock(asOf: string): Clock {
  const end = utcDay(asOf);
  const date = (daysBefore: number) => {
    const d = new Date(end - daysBefore * DAY_MS);
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  };
  return {
    asOf,
    date,
    at: (daysBefore, minuteOfDay) => {
      const m = Math.max(0, Math.min(24 * 60 - 1, Math.round(minuteOfDay)));
      return `${date(daysBefore)}T${pad(Math.floor(m / 60))}:${pad(m % 60)}:00${COUNTY_OFFSET}`;
    },
    daysSince: (d) => Math.round((end - utcDay(d)) / DAY_MS),
    age: (birthDate) => {
      const [by, bm, bd] = birthDate.split('-').map(Number) as [number, number, number];
      const [ay, am, ad] = asOf.split('-').map(Number) as [number, number, number];
      return ay - by - (am < bm || (am === bm && ad < bd) ? 1 : 0);
    },
  };
}
