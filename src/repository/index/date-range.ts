/**
 * A FHIR date, dateTime or instant as the closed range of instants its precision covers:
 * `2020` → [2020-01-01T00:00:00.000Z, 2020-12-31T23:59:59.999Z]. Values without a timezone are
 * read as UTC (the search side reads query values the same way, so the two agree).
 * Returns undefined for text that is not a FHIR date.
 */
export function dateRange(value: string): { lo: string; hi: string } | undefined {
  const m =
    /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/.exec(
      value,
    );
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, tz] = m;
  const year = Number(y);
  if (mo === undefined) return span(Date.UTC(year, 0, 1), Date.UTC(year + 1, 0, 1));
  const month = Number(mo) - 1;
  if (month > 11) return undefined;
  if (d === undefined) return span(Date.UTC(year, month, 1), Date.UTC(year, month + 1, 1));
  const day = Number(d);
  if (day < 1 || day > new Date(Date.UTC(year, month + 1, 0)).getUTCDate()) return undefined;
  if (h === undefined) return span(Date.UTC(year, month, day), Date.UTC(year, month, day + 1));
  const offsetMs = tz === undefined || tz === 'Z' ? 0 : offsetOf(tz);
  const ms = frac === undefined ? 0 : Math.floor(Number(`0${frac}`) * 1000);
  const start = Date.UTC(year, month, day, Number(h), Number(mi), Number(s ?? 0), ms) - offsetMs;
  if (Number.isNaN(start)) return undefined;
  // An instant given to the second covers that second; one given with a fraction is itself.
  const width = frac !== undefined ? 1 : s !== undefined ? 1000 : 60_000;
  return span(start, start + width);
}

function offsetOf(tz: string): number {
  const sign = tz.startsWith('-') ? -1 : 1;
  return sign * (Number(tz.slice(1, 3)) * 60 + Number(tz.slice(4, 6))) * 60_000;
}

/** [start, next) in epoch ms → closed ISO range. */
function span(start: number, next: number): { lo: string; hi: string } {
  return { lo: new Date(start).toISOString(), hi: new Date(next - 1).toISOString() };
}
