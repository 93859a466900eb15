/** Calendar dates as `YYYY-MM-DD` strings and UTC day numbers (no time zones, no clock). */

const DAY_MS = 86_400_000;

/** Days since 1970-01-01 for a `YYYY-MM-DD` date; throws on anything else. */
export function dayNumber(date: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) throw new Error(`date ${JSON.stringify(date)}: YYYY-MM-DD expected`);
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) {
    throw new Error(`date ${JSON.stringify(date)} is not a calendar date`);
  }
  return ms / DAY_MS;
}

/** Formatted dates by day number: a population of a million formats the same ~40,000 days. */
const formatted = new Map<number, string>();

export function dateOfDay(day: number): string {
  let text = formatted.get(day);
  if (text === undefined) {
    text = new Date(day * DAY_MS).toISOString().slice(0, 10);
    if (formatted.size > 200_000) formatted.clear();
    formatted.set(day, text);
  }
  return text;
}

/** Whole years between a birth date and a date (the age on that date). */
export function ageOn(birthDate: string, on: string): number {
  const [by, bm, bd] = birthDate.split('-').map(Number) as [number, number, number];
  const [y, m, d] = on.split('-').map(Number) as [number, number, number];
  return y - by - (m < bm || (m === bm && d < bd) ? 1 : 0);
}

/** The date with day and month exchanged, when that is a different real date (day ≤ 12). */
export function swapDayMonth(date: string): string | undefined {
  const [y, m, d] = date.split('-') as [string, string, string];
  if (Number(d) > 12 || d === m) return undefined;
  return `${y}-${d}-${m}`;
}
