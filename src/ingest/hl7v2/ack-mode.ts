import { decodeHl7, splitHl7Messages, type ParsedHl7 } from '../../parse/hl7v2/index.ts';

/** HL7 table 0155 (accept/application acknowledgment conditions). */
export type AckCondition = 'AL' | 'NE' | 'ER' | 'SU';

/** The outcome of one message as the pipeline judged it (original-mode codes). */
export type AckOutcome = 'AA' | 'AE' | 'AR';

/**
 * How the sender asked to be acknowledged. Both MSH-15 and MSH-16 empty → original mode
 * (AA/AE/AR); either valued → enhanced mode, where we answer the accept acknowledgement
 * (CA/CE/CR) only. `accept` is MSH-15; empty or outside table 0155 counts as AL, because
 * answering a sender that did not expect it is harmless and leaving one waiting is not.
 */
export type AckMode =
  { kind: 'original' } | { kind: 'enhanced'; accept: AckCondition; application: AckCondition | '' };

const CONDITIONS = new Set<string>(['AL', 'NE', 'ER', 'SU']);

function modeFrom(msh15: string, msh16: string): AckMode {
  const accept = msh15.trim().toUpperCase();
  const application = msh16.trim().toUpperCase();
  if (accept === '' && application === '') return { kind: 'original' };
  return {
    kind: 'enhanced',
    accept: CONDITIONS.has(accept) ? (accept as AckCondition) : 'AL',
    application: CONDITIONS.has(application) ? (application as AckCondition) : '',
  };
}

/** The mode a parsed message asks for (MSH-15 / MSH-16). */
export function ackModeOf(parsed: ParsedHl7): AckMode {
  return modeFrom(parsed.acceptAckType, parsed.applicationAckType);
}

/**
 * The mode read straight from a message's MSH line, without parsing the rest: it must work on
 * messages the parser refuses (an unsupported version still gets the acknowledgement it asked
 * for).
 */
export function readAckMode(messageText: string): AckMode {
  const start = messageText.indexOf('MSH');
  if (start < 0) return { kind: 'original' };
  const line = messageText.slice(start).split(/[\r\n]/, 1)[0]!;
  const sep = line[3];
  if (!sep) return { kind: 'original' };
  // Split on the field separator: fields[n] is MSH-(n+1) because MSH-1 is the separator itself.
  const fields = line.split(sep);
  return modeFrom(fields[14] ?? '', fields[15] ?? '');
}

/**
 * The mode of every message in a body, in the order `splitHl7Messages` gives them (the order the
 * pipeline answers them), decoded as the HL7 stage decodes it. Not on raw Latin-1: a GB 18030
 * trail byte can be `|` or `^`, so an MSH holding Chinese would split wrong. A body that does
 * not decode is read as Latin-1, as the stage then does (it answers from the ASCII header too).
 */
export function ackModesOfBody(
  raw: Buffer,
  opts: { contentTypeCharset?: string; defaultCharset: string },
): AckMode[] {
  let text: string;
  try {
    text = decodeHl7(raw, opts).text;
  } catch {
    text = raw.toString('latin1');
  }
  return splitHl7Messages(text).map(readAckMode);
}

/** MSA-1 for an outcome in a mode: enhanced mode answers accept codes. */
export function msaCode(mode: AckMode, outcome: AckOutcome): string {
  if (mode.kind === 'original') return outcome;
  return outcome === 'AA' ? 'CA' : outcome === 'AE' ? 'CE' : 'CR';
}

/** Whether MSH-15 wants an accept acknowledgement for this outcome (original mode: always). */
export function acceptAckWanted(mode: AckMode, outcome: AckOutcome): boolean {
  if (mode.kind === 'original') return true;
  switch (mode.accept) {
    case 'AL':
      return true;
    case 'NE':
      return false;
    case 'ER':
      return outcome !== 'AA';
    case 'SU':
      return outcome === 'AA';
  }
}
