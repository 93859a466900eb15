/** HL7 v2 ER7: bytes → text (charset), body → messages, message → segments/fields. */
export { decodeHl7, encodeHl7, readMsh18, resolveCharset, type DecodedHl7 } from './decode.ts';
export { readHl7Header, type Hl7Header } from './header.ts';
export { DEFAULT_DELIMITERS, escapeHl7, unescapeHl7, type Hl7Delimiters } from './escape.ts';
export { Hl7Repetition, Hl7Segment, ParsedHl7, SUPPORTED_VERSIONS } from './message.ts';
export { parseHl7, splitHl7Messages } from './parse.ts';
