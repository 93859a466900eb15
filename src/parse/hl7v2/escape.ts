/**
 * HL7 v2 escape sequences (v2.5 ch. 2.7). Written here because the parser we use elsewhere
 * (@medplum/core `Hl7Message` 4.5.2) leaves them as written and has no helper for them
 * (dependency-trials.md §5).
 */
export interface Hl7Delimiters {
  field: string;
  component: string;
  repetition: string;
  escape: string;
  subComponent: string;
  /** v2.7+: the optional fifth encoding character. */
  truncation?: string;
}

export const DEFAULT_DELIMITERS: Hl7Delimiters = {
  field: '|',
  component: '^',
  repetition: '~',
  escape: '\\',
  subComponent: '&',
};

/**
 * Decodes the escape sequences of one leaf value (after splitting on delimiters, so an escaped
 * delimiter never splits). `\Xhh…\` bytes are read as UTF-8 when they are valid UTF-8, else one
 * character per byte; highlighting (`\H\ \N\`) and character-set switches (`\C…\ \M…\`) are
 * dropped; an unknown or unterminated sequence is kept as written rather than lost.
 */
export function unescapeHl7(value: string, d: Hl7Delimiters): string {
  const esc = d.escape;
  if (!esc || value.indexOf(esc) < 0) return value;
  let out = '';
  let i = 0;
  while (i < value.length) {
    const start = value.indexOf(esc, i);
    if (start < 0) break;
    const end = value.indexOf(esc, start + 1);
    if (end < 0) break; // unterminated: keep the rest literally
    out += value.slice(i, start);
    const seq = value.slice(start + 1, end);
    const decoded = decodeSequence(seq, d);
    out += decoded ?? value.slice(start, end + 1);
    i = end + 1;
  }
  return out + value.slice(i);
}

function decodeSequence(seq: string, d: Hl7Delimiters): string | undefined {
  switch (seq) {
    case 'F':
      return d.field;
    case 'S':
      return d.component;
    case 'T':
      return d.subComponent;
    case 'R':
      return d.repetition;
    case 'E':
      return d.escape;
    case 'P':
      return d.truncation ?? undefined;
    case 'H':
    case 'N':
      return '';
    case '.br':
      return '\n';
    case '.sp':
      return '\n';
    case '.fi':
    case '.nf':
      return '';
  }
  if (/^\.(sp|in|ti|sk|ce)[+-]?\d*$/.test(seq)) return seq.startsWith('.sp') ? '\n' : '';
  if (/^X(?:[0-9A-Fa-f]{2})+$/.test(seq)) return hexText(seq.slice(1));
  if (/^[CM][0-9A-Fa-f]{4,6}$/.test(seq)) return '';
  return undefined;
}

function hexText(hex: string): string {
  const bytes = Buffer.from(hex, 'hex');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

/** Escapes text for an outgoing ER7 field value (ACK texts); newlines become `\.br\`. */
export function escapeHl7(text: string, d: Hl7Delimiters = DEFAULT_DELIMITERS): string {
  let out = '';
  for (const ch of text) {
    if (ch === d.escape) out += `${d.escape}E${d.escape}`;
    else if (ch === d.field) out += `${d.escape}F${d.escape}`;
    else if (ch === d.component) out += `${d.escape}S${d.escape}`;
    else if (ch === d.subComponent) out += `${d.escape}T${d.escape}`;
    else if (ch === d.repetition) out += `${d.escape}R${d.escape}`;
    else if (d.truncation && ch === d.truncation) out += `${d.escape}P${d.escape}`;
    else if (ch === '\n') out += `${d.escape}.br${d.escape}`;
    else if (ch === '\r') continue;
    else out += ch;
  }
  return out;
}
