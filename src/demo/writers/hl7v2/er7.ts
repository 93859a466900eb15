import { escapeHl7 } from '../../../parse/hl7v2/index.ts';
import type { Registration } from '../../types.ts';

/**
 * ER7 building blocks: segments from numbered fields, HL7 times from the timeline's ISO
 * times, and the PID of a registration — in the shapes `src/mapping/hl7v2` reads.
 */

/** Field text: escaped, so a `^` or `|` in free text never splits a field. */
export const esc = (text: string): string => escapeHl7(text);

/** A segment from its fields by number (1-based); missing numbers are empty fields. */
export function segment(name: string, fields: Record<number, string | undefined>): string {
  const numbers = Object.keys(fields)
    .map(Number)
    .filter((n) => fields[n] !== undefined && fields[n] !== '');
  const last = numbers.length ? Math.max(...numbers) : 0;
  const out = [name];
  for (let i = 1; i <= last; i++) out.push(fields[i] ?? '');
  return out.join('|');
}

/** `2026-03-04T09:20:00+08:00` → `20260304092000+0800`; `2026-03-04` → `20260304`. */
export function hl7Time(iso: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?([+-]\d{2}):?(\d{2}))?$/.exec(iso);
  if (!m) throw new Error(`not an ISO time the demo writes: ${iso}`);
  const [, y, mo, d, h, mi, s, oh, om] = m;
  return h ? `${y}${mo}${d}${h}${mi}${s ?? '00'}${oh}${om}` : `${y}${mo}${d}`;
}

/** MSH-18 for a registry charset. */
export function msh18(charset: string): string {
  return /^GB/i.test(charset) ? 'GB18030' : 'UNICODE UTF-8';
}

export interface MshInput {
  application: string;
  facility: string;
  time: string;
  type: string;
  controlId: string;
  charset: string;
  version?: string;
}

export function msh(m: MshInput): string {
  return `MSH|^~\\&|${[
    m.application,
    m.facility,
    'HIE',
    'COUNTY-HIE',
    hl7Time(m.time),
    '',
    m.type,
    m.controlId,
    'P',
    m.version ?? '2.5',
    '',
    '',
    'AL',
    'NE',
    'CHN',
    msh18(m.charset),
  ].join('|')}`;
}

/**
 * PID from what the institution has on file: PID-3 the MRN (`^^^{facility}^MR`) and, when on
 * file, the national ID as a repetition with CX-5 `NNCHN`; PID-5 the whole name in XPN.1.
 */
export function pid(reg: Registration, facility: string): string {
  const ids = [`${esc(reg.mrn)}^^^${facility}^MR`];
  if (reg.nationalId) ids.push(`${esc(reg.nationalId)}^^^CHNID^NNCHN`);
  return segment('PID', {
    1: '1',
    3: ids.join('~'),
    5: esc(reg.name),
    7: reg.birthDate ? hl7Time(reg.birthDate) : undefined,
    8: reg.sex === 'male' ? 'M' : reg.sex === 'female' ? 'F' : undefined,
    11: reg.addressText ? `${esc(reg.addressText)}^^^^^CHN^H` : undefined,
    13: reg.phone ? `^PRN^CP^^^^${esc(reg.phone)}` : undefined,
  });
}
