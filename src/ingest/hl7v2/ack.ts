import type { MappingProblem } from '../../mapping/types.ts';
import {
  DEFAULT_DELIMITERS,
  SUPPORTED_VERSIONS,
  escapeHl7,
  type Hl7Delimiters,
  type ParsedHl7,
} from '../../parse/hl7v2/index.ts';
import { ackModeOf, msaCode, type AckMode, type AckOutcome } from './ack-mode.ts';

export interface AckOptions {
  /** The outcome; MSA-1 is this code in original mode, CA/CE/CR when the sender asked for enhanced mode. */
  code: AckOutcome;
  /** MSA-3 text (kept in every version: v2.5+ retain it for backward compatibility). */
  text?: string;
  problems?: MappingProblem[];
  /** MSH-3/4 of the ACK when the original named no receiver (MSH-5/6 empty) or could not be parsed. */
  receivingApp?: string;
  receivingFacility?: string;
  /** The ACK's own MSH-10. */
  controlId: string;
  /** Version when the original could not be parsed (default 2.5.1). */
  version?: string;
  /** MSH-7 of the ACK; default now. */
  now?: Date;
  /** The acknowledgement mode when there is no parsed original to read MSH-15/16 from. */
  mode?: AckMode;
}

const TABLE_0357: Record<string, string> = {
  '0': 'Message accepted',
  '100': 'Segment sequence error',
  '101': 'Required field missing',
  '102': 'Data type error',
  '103': 'Table value not found',
  '200': 'Unsupported message type',
  '201': 'Unsupported event code',
  '202': 'Unsupported processing id',
  '203': 'Unsupported version id',
  '204': 'Unknown key identifier',
  '205': 'Duplicate key identifier',
  '206': 'Application record locked',
  '207': 'Application internal error',
};

/**
 * An acknowledgement (CR-terminated ER7) in the sender's own version and delimiters, sender and
 * receiver swapped. Original mode (MSH-15 and MSH-16 empty): MSA-1 AA/AE/AR. Enhanced mode: this
 * is the accept acknowledgement, MSA-1 CA/CE/CR (whether to send it at all is the edge's call,
 * see `acceptAckWanted`); its own MSH-15/16 stay empty, as an acknowledgement is never answered. ERR by version (CONTRACTS.md "Inbound answers"):
 * ≤ 2.4 one ERR whose ERR-1 repeats `SEG^seq^field^code&text&HL70357`; ≥ 2.5 one ERR per
 * problem with ERR-2 location, ERR-3 table 0357 code, ERR-4 severity and ERR-8 text.
 * A problem without an HL7 code (storage down, a validation failure) is reported as 207.
 */
export function buildAck(original: ParsedHl7 | undefined, opts: AckOptions): string {
  const d: Hl7Delimiters = original?.delimiters ?? DEFAULT_DELIMITERS;
  // The sender's version, when it is one we speak; an AR for an unsupported one answers in ours.
  const version =
    original?.version && SUPPORTED_VERSIONS.includes(original.version)
      ? original.version
      : opts.version || '2.5.1';
  const f = d.field;
  const msh = original?.msh;
  const enc = d.component + d.repetition + d.escape + d.subComponent + (d.truncation ?? '');
  const esc = (t: string) => escapeHl7(t, d);
  const sendingApp = msh?.raw(5) || esc(opts.receivingApp ?? '');
  const sendingFac = msh?.raw(6) || esc(opts.receivingFacility ?? '');
  const trigger = original?.triggerEvent ?? '';
  const type = ['ACK', trigger, ...(version === '2.3' ? [] : ['ACK'])].join(d.component);
  const mshFields = [
    'MSH',
    enc,
    sendingApp,
    sendingFac,
    msh?.raw(3) ?? '',
    msh?.raw(4) ?? '',
    hl7Now(opts.now ?? new Date()),
    '',
    type,
    esc(opts.controlId),
    msh?.raw(11) || 'P',
    version,
  ];
  const charset = msh?.raw(18);
  if (charset) mshFields.push('', '', '', '', '', charset);
  const segments = [mshFields.join(f)];
  const mode = original ? ackModeOf(original) : (opts.mode ?? { kind: 'original' as const });
  const msa = ['MSA', msaCode(mode, opts.code), original ? esc(original.controlId) : ''];
  if (opts.text) msa.push(esc(opts.text));
  segments.push(trimEnd(msa).join(f));

  const problems = [...(opts.problems ?? [])];
  if (problems.length === 0 && opts.code !== 'AA' && opts.text)
    problems.push({ severity: 'error', text: opts.text });
  if (problems.length > 0) {
    if (isV25OrLater(version)) segments.push(...problems.map((p) => err25(p, d, esc)));
    else segments.push(err23(problems, d, esc));
  }
  return segments.map((s) => s + '\r').join('');
}

function err25(p: MappingProblem, d: Hl7Delimiters, esc: (t: string) => string): string {
  const c = d.component;
  const at = p.hl7;
  const loc = at
    ? trimEnd([
        at.segment,
        String(at.sequence),
        n(at.field),
        n(at.repetition ?? (at.field !== undefined ? 1 : undefined)),
        n(at.component),
        n(at.subComponent),
      ]).join(c)
    : '';
  // A warning on an accepted message without a place of its own: 0, "message accepted".
  const code = at?.code ?? (p.severity === 'warning' ? '0' : '207');
  const fields = [
    'ERR',
    '',
    loc,
    [code, TABLE_0357[code] ?? '', 'HL70357'].join(c),
    p.severity === 'warning' ? 'W' : 'E',
    '',
    '',
    '',
    esc(p.text),
  ];
  return fields.join(d.field);
}

function err23(problems: MappingProblem[], d: Hl7Delimiters, esc: (t: string) => string): string {
  const reps = problems.map((p) => {
    const at = p.hl7;
    const ce = [at?.code ?? (p.severity === 'warning' ? '0' : '207'), esc(p.text), 'HL70357'].join(
      d.subComponent,
    );
    return [at?.segment ?? '', at ? String(at.sequence) : '', n(at?.field), ce].join(d.component);
  });
  return ['ERR', reps.join(d.repetition)].join(d.field);
}

const n = (v: number | undefined) => (v === undefined ? '' : String(v));

function trimEnd(parts: string[]): string[] {
  let end = parts.length;
  while (end > 1 && parts[end - 1] === '') end--;
  return parts.slice(0, end);
}

function isV25OrLater(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > 2 || (major === 2 && minor >= 5);
}

/** `YYYYMMDDHHMMSS+0000`: UTC with an explicit offset, unambiguous for any receiver. */
function hl7Now(d: Date): string {
  const iso = d.toISOString(); // 2026-01-02T03:04:05.678Z
  return iso.slice(0, 19).replace(/[-:T]/g, '') + '+0000';
}

/**
 * The same acknowledgement with MSA-1 set for `mode`. For ACKs built without a parsed original
 * (a message the parser refused), whose MSH-15/16 were read leniently by the edge instead.
 * Idempotent: an ACK already in the right mode comes back unchanged.
 */
export function inAckMode(ack: string, mode: AckMode, outcome: AckOutcome): string {
  const f = ack[3];
  if (!f) return ack;
  const code = msaCode(mode, outcome);
  return ack
    .split('\r')
    .map((seg) => {
      if (!seg.startsWith(`MSA${f}`)) return seg;
      const fields = seg.split(f);
      fields[1] = code;
      return fields.join(f);
    })
    .join('\r');
}
