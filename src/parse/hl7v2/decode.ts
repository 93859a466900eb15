import iconv from 'iconv-lite';
import { MappingError } from '../../mapping/types.ts';

/**
 * Bytes → text for HL7 v2. Decoding must work on bytes first because the charset is named
 * inside the message (MSH-18): the first segment is read as ASCII (every charset we accept is
 * ASCII-compatible in that range), then the whole body is decoded with the charset found.
 */
export interface DecodedHl7 {
  text: string;
  /** The canonical charset used: `UTF-8`, `GB18030`, `ISO-8859-1`, `US-ASCII`, … */
  charset: string;
}

interface Charset {
  name: string;
  /** WHATWG label for TextDecoder (fatal mode rejects invalid bytes), or an iconv-lite name. */
  decoder: { textDecoder: string } | { iconv: string } | 'ascii';
}

const UTF8: Charset = { name: 'UTF-8', decoder: { textDecoder: 'utf-8' } };
const GB18030: Charset = { name: 'GB18030', decoder: { textDecoder: 'gb18030' } };
const ASCII: Charset = { name: 'US-ASCII', decoder: 'ascii' };
const latin = (n: number): Charset => ({ name: `ISO-8859-${n}`, decoder: { iconv: `iso-8859-${n}` } });

/** Table 0211 spellings and the IANA names registries and content-types use, upper-cased. */
const CHARSETS: Record<string, Charset> = {
  'UNICODE UTF-8': UTF8,
  'UTF-8': UTF8,
  UTF8: UTF8,
  'ISO IR192': UTF8,
  'GB 18030-2000': GB18030,
  'GB 18030-2005': GB18030,
  GB18030: GB18030,
  // GBK and GB2312 are subsets of GB 18030: decoding them as GB 18030 is exact.
  GBK: GB18030,
  GB2312: GB18030,
  ASCII: ASCII,
  'US-ASCII': ASCII,
  'ISO IR6': ASCII,
  'ISO IR100': latin(1),
  'BIG-5': { name: 'Big5', decoder: { textDecoder: 'big5' } },
  BIG5: { name: 'Big5', decoder: { textDecoder: 'big5' } },
  'KS X 1001': { name: 'EUC-KR', decoder: { textDecoder: 'euc-kr' } },
  'EUC-KR': { name: 'EUC-KR', decoder: { textDecoder: 'euc-kr' } },
  SHIFT_JIS: { name: 'Shift_JIS', decoder: { textDecoder: 'shift_jis' } },
};
for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 9, 15]) {
  CHARSETS[`8859/${n}`] = latin(n);
  CHARSETS[`ISO-8859-${n}`] = latin(n);
}

export function resolveCharset(label: string): Charset | undefined {
  return CHARSETS[label.trim().toUpperCase().replace(/\s+/g, ' ')];
}

/** The charset name a producer of outgoing bytes should use (ACKs in the sender's charset). */
export function encodeHl7(text: string, charset: string): Buffer {
  const cs = resolveCharset(charset) ?? UTF8;
  if (cs.name === 'UTF-8' || cs.name === 'US-ASCII') return Buffer.from(text, 'utf8');
  return iconv.encode(text, cs.name);
}

export function decodeHl7(
  raw: Buffer,
  opts: { contentTypeCharset?: string; defaultCharset: string },
): DecodedHl7 {
  let bytes = raw;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
  const fromHeader = opts.contentTypeCharset?.trim();
  const msh18 = fromHeader ? '' : readMsh18(bytes);
  const declared = fromHeader || msh18 || opts.defaultCharset;
  const from = fromHeader ? 'the content-type charset' : msh18 ? 'MSH-18' : 'the institution default';
  const cs = resolveCharset(declared);
  if (!cs) throw charsetError(`Unsupported character set "${declared}" (from ${from})`);
  return { text: decodeWith(bytes, cs, from), charset: cs.name };
}

function decodeWith(bytes: Buffer, cs: Charset, from: string): string {
  if (cs.decoder === 'ascii') {
    const bad = bytes.findIndex((b) => b > 0x7f);
    if (bad >= 0)
      throw charsetError(
        `Byte 0x${bytes[bad]!.toString(16)} at offset ${bad} is not ASCII (charset from ${from})`,
      );
    return bytes.toString('latin1');
  }
  if ('iconv' in cs.decoder) return iconv.decode(bytes, cs.decoder.iconv);
  try {
    // fatal: an invalid byte sequence is an error, never a silent U+FFFD.
    return new TextDecoder(cs.decoder.textDecoder, { fatal: true }).decode(bytes);
  } catch {
    throw charsetError(`The message is not valid ${cs.name} (charset from ${from})`);
  }
}

function charsetError(text: string): MappingError {
  return new MappingError([
    { severity: 'error', text, hl7: { segment: 'MSH', sequence: 1, field: 18, code: '102' } },
  ]);
}

/**
 * MSH-18 (first repetition) read from the raw bytes of the first segment, or '' when the body
 * does not start with MSH or the field is empty. Only ASCII bytes matter up to that point.
 */
export function readMsh18(bytes: Buffer): string {
  let i = 0;
  while (i < bytes.length && (bytes[i] === 0x0d || bytes[i] === 0x0a || bytes[i] === 0x20)) i++;
  if (bytes.toString('latin1', i, i + 3) !== 'MSH' || bytes.length < i + 8) return '';
  const sep = bytes[i + 3]!;
  const rep = bytes[i + 5]!;
  let field = 2;
  let p = i + 4;
  while (p < bytes.length && field < 18) {
    const b = bytes[p]!;
    if (b === 0x0d || b === 0x0a) return '';
    if (b === sep) field++;
    p++;
  }
  if (field !== 18) return '';
  let end = p;
  while (end < bytes.length) {
    const b = bytes[end]!;
    if (b === sep || b === rep || b === 0x0d || b === 0x0a) break;
    end++;
  }
  return bytes.toString('latin1', p, end).trim();
}
