import iconv from 'iconv-lite';
import { loadDirectory, type DemoDirectory, type DirectoryPractitioner } from '../../care/directory.ts';
import type { CareEvent, DemoChannel, Registration, RenderedFile } from '../../types.ts';

/**
 * What the feed writers share: the registry as the demo reads it (charset, timezone), the
 * practitioner directory (a doctor's 工号 and name), wall-clock times in the institution's zone
 * and encoding in the institution's charset.
 */

let directory: DemoDirectory | undefined;

/** The registry and practitioner directory, read once per process (they ship with the code). */
export function demoDirectory(): DemoDirectory {
  directory ??= loadDirectory();
  return directory;
}

/** The institution's registry charset and timezone; an id not in the registry is a bug upstream. */
export function institutionProfile(institutionId: string): { charset: string; timezone: string } {
  const entry = demoDirectory().institution(institutionId);
  if (!entry) throw new Error(`${institutionId} is not in registry/institutions.json`);
  return { charset: entry.charset || 'UTF-8', timezone: entry.timezone || '+08:00' };
}

export function practitioner(id: string | undefined): DirectoryPractitioner | undefined {
  return id === undefined ? undefined : demoDirectory().practitioners.find((p) => p.id === id);
}

/** A doctor at an institution by 工号, for a contract roster's doctor name. */
export function practitionerByStaffNo(
  institutionId: string,
  staffNo: string,
): DirectoryPractitioner | undefined {
  return demoDirectory().practitioners.find((p) => p.institution === institutionId && p.staffNo === staffNo);
}

export function registrationOf(
  registrations: ReadonlyMap<string, Registration>,
  event: CareEvent,
): Registration {
  const reg = registrations.get(event.personId);
  if (!reg)
    throw new Error(`${event.institutionId} has no registration for ${event.personId} (event ${event.id})`);
  return reg;
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * The wall-clock parts of an ISO time in the given zone: the event times are already in the
 * institution's offset, so this is usually a slice; another offset is shifted (pure arithmetic,
 * no system clock or locale).
 */
export function wallClock(
  iso: string,
  timezone: string,
): { date: [string, string, string]; time?: [string, string, string] } {
  const m = ISO.exec(iso);
  if (!m) throw new Error(`"${iso}" is not an ISO 8601 date/time`);
  const [, y, mo, d, h, mi, s = '00', off] = m;
  if (h === undefined) return { date: [y!, mo!, d!] };
  const want = offsetMinutes(timezone);
  const have = off === undefined ? want : offsetMinutes(off);
  if (have === want) return { date: [y!, mo!, d!], time: [h, mi!, s] };
  const utc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const local = new Date(utc + (want - have) * 60_000);
  const p = (n: number) => String(n).padStart(2, '0');
  return {
    date: [String(local.getUTCFullYear()), p(local.getUTCMonth() + 1), p(local.getUTCDate())],
    time: [p(local.getUTCHours()), p(local.getUTCMinutes()), p(local.getUTCSeconds())],
  };
}

function offsetMinutes(tz: string): number {
  if (tz === 'Z') return 0;
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(tz);
  if (!m) throw new Error(`"${tz}" is not a UTC offset`);
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

/** `2026/03/04 09:20` (separator `/` as village clinic software writes it, `-` for the HIS). */
export function localDateTime(iso: string, timezone: string, sep: '/' | '-'): string {
  const { date, time } = wallClock(iso, timezone);
  return time ? `${date.join(sep)} ${time[0]}:${time[1]}` : date.join(sep);
}

export function localDate(iso: string, timezone: string, sep: '/' | '-'): string {
  return wallClock(iso, timezone).date.join(sep);
}

/** RFC 4180: a cell with a comma, quote or line break is quoted, quotes doubled. */
export function csvCell(value: string | number | undefined): string {
  const text = value === undefined ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Header and rows, CRLF-ended, encoded in the charset (GB18030 through iconv-lite). */
export function csvText(
  columns: readonly string[],
  rows: readonly (readonly (string | number | undefined)[])[],
): string {
  return [columns, ...rows].map((r) => `${r.map(csvCell).join(',')}\r\n`).join('');
}

export function encode(text: string, charset: string): Buffer {
  if (/^utf-?8$/i.test(charset)) return Buffer.from(text, 'utf8');
  if (!iconv.encodingExists(charset)) throw new Error(`charset ${charset} is not supported by iconv-lite`);
  return iconv.encode(text, charset);
}

export function decode(bytes: Buffer, charset: string): string {
  return /^utf-?8$/i.test(charset) ? bytes.toString('utf8') : iconv.decode(bytes, charset);
}

/** One rendered file of an institution's feed. */
export function renderedFile(input: {
  folder: string;
  institutionId: string;
  channel: DemoChannel;
  name: string;
  text: string;
  charset: string;
  controlIds: string[];
}): RenderedFile {
  return {
    path: `${input.folder}/${input.institutionId}/${input.name}`,
    institution: input.institutionId,
    channel: input.channel,
    messages: input.controlIds.length,
    charset: input.charset,
    bytes: encode(input.text, input.charset),
    controlIds: input.controlIds,
  };
}

/** JSON with keys in the order the object literal wrote them, one message per line. */
export function ndjson(objects: readonly unknown[]): string {
  return objects.map((o) => `${JSON.stringify(o)}\n`).join('');
}

export const SEX_ZH = { male: '男', female: '女' } as const;

/**
 * The patient columns every clinic CSV export starts a row with (after its record number): MRN,
 * name, sex, birth date, ID card, phone — the date written with the export's separator.
 */
export function patientCells(
  reg: Registration,
  timezone: string,
  dateSep: '/' | '-',
): (string | undefined)[] {
  return [
    reg.mrn,
    reg.name,
    reg.sex ? SEX_ZH[reg.sex] : undefined,
    reg.birthDate ? localDate(reg.birthDate, timezone, dateSep) : undefined,
    reg.nationalId,
    reg.phone,
  ];
}
