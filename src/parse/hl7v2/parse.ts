import type { Hl7Delimiters } from './escape.ts';
import { Hl7Segment, ParsedHl7, SUPPORTED_VERSIONS, parseProblem } from './message.ts';

/** CR, LF and CRLF all end a segment (senders and files use all three; the standard says CR). */
const TERMINATOR = /\r\n|\n|\r/;
const SEGMENT_NAME = /^[A-Z][A-Z0-9]{2}$/;

function lines(text: string): string[] {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  return body.split(TERMINATOR).filter((l) => l.trim() !== '');
}

/**
 * Splits a body holding one or more messages: a new message starts at every `MSH`. Batch
 * envelopes (FHS/BHS/BTS/FTS) are dropped. Lines before the first MSH stay a chunk of their
 * own so that `parseHl7` refuses them with a precise error instead of their being lost.
 * Each message comes back with CR-terminated segments.
 */
export function splitHl7Messages(text: string): string[] {
  const out: string[][] = [];
  for (const line of lines(text)) {
    const name = line.slice(0, 3);
    if (name === 'FHS' || name === 'BHS' || name === 'BTS' || name === 'FTS') continue;
    if (name === 'MSH' || out.length === 0) out.push([line]);
    else out[out.length - 1]!.push(line);
  }
  return out.map((segs) => segs.join('\r') + '\r');
}

/**
 * Parses one message. Throws MappingError: no MSH → 100; broken delimiters or a bad segment
 * name → 100/102; MSH-9, MSH-10 or MSH-12 missing → 101; an unsupported version → 203 (reject).
 */
export function parseHl7(text: string): ParsedHl7 {
  const msg = parseHl7Segments(text);
  const msh = msg.msh;
  if (!msg.messageCode) throw parseProblem('MSH-9 (message type) is missing', msh.at(9, 1, 1), '101');
  if (!msg.controlId) throw parseProblem('MSH-10 (message control id) is missing', msh.at(10), '101');
  if (!msg.version) throw parseProblem('MSH-12 (version id) is missing', msh.at(12), '101');
  if (!SUPPORTED_VERSIONS.includes(msg.version)) {
    throw parseProblem(
      `HL7 version "${msg.version}" is not supported (2.3 to 2.8)`,
      msh.at(12),
      '203',
      'reject',
    );
  }
  return msg;
}

/**
 * The segments and delimiters only, without judging MSH-9/10/12: what an ACK needs to be
 * addressed to a message that is refused for its header (an unsupported version, say).
 */
export function parseHl7Segments(text: string): ParsedHl7 {
  const segLines = lines(text);
  const first = segLines[0] ?? '';
  if (!first.startsWith('MSH')) {
    throw parseProblem(
      'The message does not start with an MSH segment',
      { segment: 'MSH', sequence: 1 },
      '100',
    );
  }
  const d = delimiters(first);
  const counts = new Map<string, number>();
  const segments = segLines.map((line, i) => {
    const parts = line.split(d.field);
    const name = parts[0]!;
    if (!SEGMENT_NAME.test(name)) {
      throw parseProblem(
        `Segment ${i + 1} does not start with a segment name followed by "${d.field}"`,
        { segment: name.slice(0, 3) || '???', sequence: i + 1 },
        '100',
      );
    }
    if (name === 'MSH' && i > 0) {
      throw parseProblem('A second MSH inside one message', { segment: 'MSH', sequence: 2 }, '100');
    }
    const seq = (counts.get(name) ?? 0) + 1;
    counts.set(name, seq);
    const fields = name === 'MSH' ? ['MSH', d.field, ...parts.slice(1)] : parts;
    return new Hl7Segment(name, seq, i + 1, fields, d);
  });
  return new ParsedHl7(segLines.join('\r') + '\r', d, segments);
}

/**
 * MSH-1 and MSH-2. Each delimiter must be a distinct, non-alphanumeric character; MSH-2 has four
 * characters, or five from v2.7 on (truncation). `^~\\&` (a doubled backslash, seen in files
 * written by a tool that escaped the backslash twice) is refused: a repeated delimiter makes
 * the message ambiguous, and guessing would misread every escape in it.
 */
function delimiters(msh: string): Hl7Delimiters {
  const field = msh[3];
  const bad = (why: string, f: number) =>
    parseProblem(`MSH-${f} is malformed: ${why}`, { segment: 'MSH', sequence: 1, field: f }, '102');
  if (field === undefined || /[A-Za-z0-9\s]/.test(field)) throw bad('no field separator after "MSH"', 1);
  const end = msh.indexOf(field, 4);
  const enc = end < 0 ? msh.slice(4) : msh.slice(4, end);
  if (enc.length !== 4 && enc.length !== 5) {
    throw bad(`encoding characters "${enc}" must be 4 characters (5 with truncation)`, 2);
  }
  const chars = [field, ...enc];
  if (new Set(chars).size !== chars.length) throw bad(`encoding characters "${enc}" repeat a delimiter`, 2);
  if (chars.some((c) => /[A-Za-z0-9\s]/.test(c)))
    throw bad(`encoding characters "${enc}" include a letter, digit or space`, 2);
  return {
    field,
    component: enc[0]!,
    repetition: enc[1]!,
    escape: enc[2]!,
    subComponent: enc[3]!,
    ...(enc[4] ? { truncation: enc[4] } : {}),
  };
}
