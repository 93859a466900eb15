import type { DemoChannel } from '../types.ts';

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;

/**
 * The messages of one generated file, as byte slices (the bytes are sent as they are, in the
 * file's own charset): HL7 v2 files and NDJSON split on `\n`; a CSV file becomes its header and
 * one line per row. Splitting bytes is safe for GB 18030 too: its trailing bytes are never `\n`
 * or `"`.
 */
export function splitMessages(channel: DemoChannel, bytes: Buffer): { header?: Buffer; messages: Buffer[] } {
  if (channel.startsWith('csv:')) {
    const lines = csvLines(bytes);
    const [header, ...rows] = lines;
    return header === undefined ? { messages: [] } : { header, messages: rows };
  }
  return { messages: plainLines(bytes) };
}

function plainLines(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === LF) {
      // HL7 segments end with `\r`, which stays part of the message.
      const line = bytes.subarray(start, i);
      if (!isBlank(line)) out.push(line);
      start = i + 1;
    }
  }
  return out;
}

/** CSV lines, where a quoted cell may hold a line break (RFC 4180); blank lines are skipped. */
function csvLines(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i <= bytes.length; i++) {
    if (i < bytes.length && bytes[i] === QUOTE) quoted = !quoted;
    if (i === bytes.length || (bytes[i] === LF && !quoted)) {
      let line = bytes.subarray(start, i);
      if (line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
      if (line.length > 0) out.push(line);
      start = i + 1;
    }
  }
  return out;
}

function isBlank(line: Buffer): boolean {
  return line.every((b) => b === CR || b === LF || b === 0x20 || b === 0x09);
}
