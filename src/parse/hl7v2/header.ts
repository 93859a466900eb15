import type { ParsedHl7 } from './message.ts';
import { parseHl7Segments } from './parse.ts';

export interface Hl7Header {
  /** MSH-4 (first component); read even when the header does not parse as a whole. */
  facility: string;
  /** The MSH segment parsed on its own (delimiters, version, type, control id, MSH-15/16), unjudged. */
  parsed?: ParsedHl7;
}

/**
 * The MSH segment read before — or without — decoding the body: it is ASCII in every accepted
 * charset, so Latin-1 reads it exactly. Enough to identify the sender and address an ACK to a
 * message that cannot be decoded, is too large, or comes from an unknown sender.
 */
export function readHl7Header(raw: Buffer | string): Hl7Header | undefined {
  const text = (typeof raw === 'string' ? raw : raw.toString('latin1')).replace(/^\uFEFF|^ï»¿/, '');
  const start = text.indexOf('MSH');
  if (start < 0) return undefined;
  const end = text.slice(start).search(/[\r\n]/);
  const msh = end < 0 ? text.slice(start) : text.slice(start, start + end);
  try {
    // Segments only: a header refused for its content (an unsupported version, no MSH-10) still
    // addresses the answer as far as it can.
    const parsed = parseHl7Segments(msh);
    return { facility: parsed.sendingFacility, parsed };
  } catch {
    const sep = msh[3] ?? '|';
    const hd = msh.split(sep)[3] ?? '';
    return { facility: hd.split(msh[4] ?? '^')[0] ?? '' };
  }
}
