import { MllpClient } from '../../ingest/mllp/client.ts';
import type { DemoFile } from '../types.ts';

/** What the gateway answered for one message of a generated file. */
export interface MessageAnswer {
  path: string;
  /** 0-based position in the file. */
  index: number;
  /** MSH-10 for HL7 v2; undefined for the other channels (the gateway derives theirs). */
  controlId?: string;
  /** The ACK code (`AA`, `AE`, `AR`, `CA`…) or the HTTP status (`202`, `422`, `401`…). */
  answer: string;
  accepted: boolean;
  /** The refusal's reason (ACK text or OperationOutcome diagnostics), shortened. */
  detail?: string;
}

/** How one file's messages reach the gateway; `bearer` gives a current token for the file's institution. */
export interface ChannelContext {
  publicUrl: string;
  file: DemoFile;
  bearer: () => Promise<string>;
  /** One open MLLP connection per institution, created on first use. */
  mllp: () => MllpClient;
  signal?: AbortSignal;
}

/** The sender could not reach the gateway at all (as opposed to the gateway refusing a message). */
export class TransportError extends Error {
  override name = 'TransportError';
}

const HL7_TYPES = 'application/hl7-v2';

/** HL7 v2 over MLLP: one message at a time, each waiting for its ACK. */
export async function sendMllp(
  ctx: ChannelContext,
  messages: Buffer[],
  first: number,
): Promise<MessageAnswer[]> {
  const out: MessageAnswer[] = [];
  for (const [i, raw] of messages.entries()) {
    ctx.signal?.throwIfAborted();
    let ack: Buffer;
    try {
      ack = await ctx.mllp().send(raw);
    } catch (err) {
      throw new TransportError(`MLLP: ${(err as Error).message}`);
    }
    const [parsed] = parseAcks(ack.toString('utf8'));
    out.push(hl7Answer(ctx.file.path, first + i, raw, parsed));
  }
  return out;
}

/** HL7 v2 over HTTP: several messages per POST, one ACK each, in order. */
export async function sendHl7Http(
  ctx: ChannelContext,
  messages: Buffer[],
  first: number,
): Promise<MessageAnswer[]> {
  const body = Buffer.concat(messages.flatMap((m) => [m, Buffer.from('\n')]));
  const res = await post(ctx, '/ingest/hl7v2', body, HL7_TYPES);
  const acks = parseAcks(await res.text());
  return messages.map((raw, i) =>
    acks.length === messages.length
      ? hl7Answer(ctx.file.path, first + i, raw, acks[i])
      : {
          path: ctx.file.path,
          index: first + i,
          controlId: controlIdOf(raw),
          answer: String(res.status),
          accepted: false,
          detail: `HTTP ${res.status} with ${acks.length} ACKs for ${messages.length} messages`,
        },
  );
}

/**
 * CSV: the rows posted with the header repeated, in the file's charset. One answer for the
 * chunk: 202 means every row was taken; a 422 names the refused rows by line, which puts the
 * answer on those rows (the others of the chunk were kept, as the gateway keeps good rows).
 */
export async function sendCsv(
  ctx: ChannelContext,
  feed: string,
  header: Buffer,
  rows: Buffer[],
  first: number,
): Promise<MessageAnswer[]> {
  const body = Buffer.concat([header, ...rows].flatMap((r) => [r, Buffer.from('\r\n')]));
  const res = await post(ctx, `/ingest/csv/${feed}`, body, `text/csv; charset=${ctx.file.charset}`);
  const { detail, lines } = outcomeOf(await res.text());
  const accepted = res.ok;
  return rows.map((_r, i) => {
    // Line 1 is the header, so row i of the chunk is line i + 2.
    const named = lines.size > 0 && !lines.has(i + 2);
    const rowAccepted = accepted || named;
    return {
      path: ctx.file.path,
      index: first + i,
      answer: rowAccepted ? '202' : String(res.status),
      accepted: rowAccepted,
      ...(rowAccepted ? {} : { detail }),
    };
  });
}

/** JSON feeds and FHIR: one POST per NDJSON line. */
export async function sendJsonLine(
  ctx: ChannelContext,
  path: string,
  contentType: string,
  line: Buffer,
  index: number,
): Promise<MessageAnswer> {
  const res = await post(ctx, path, line, contentType);
  const { detail } = outcomeOf(await res.text());
  return {
    path: ctx.file.path,
    index,
    answer: String(res.status),
    accepted: res.ok,
    ...(res.ok ? {} : { detail }),
  };
}

async function post(ctx: ChannelContext, path: string, body: Buffer, contentType: string): Promise<Response> {
  const url = `${ctx.publicUrl}${path}`;
  // Outside the try: a refused token is its own error, not "the gateway does not answer".
  const token = await ctx.bearer();
  try {
    return await fetch(url, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': contentType },
      body,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
  } catch (err) {
    if (ctx.signal?.aborted) throw err;
    throw new TransportError(`${url} does not answer (${(err as Error).message})`);
  }
}

interface ParsedAck {
  code: string;
  text?: string;
}

/** MSA-1 and the error text of each ACK in a body (ACKs separated by line ends). */
export function parseAcks(text: string): ParsedAck[] {
  const acks: ParsedAck[] = [];
  for (const segment of text.split(/[\r\n]+/)) {
    const fields = segment.split('|');
    if (fields[0] === 'MSA') acks.push({ code: fields[1] ?? '', ...(fields[3] ? { text: fields[3] } : {}) });
    else if (fields[0] === 'ERR' && acks.length > 0) {
      const last = acks[acks.length - 1]!;
      // ≥ 2.5 keeps the text in ERR-8, older versions in ERR-1's components.
      last.text ??= (fields[8] || fields[1] || '').slice(0, 300) || undefined;
    }
  }
  return acks;
}

function hl7Answer(path: string, index: number, raw: Buffer, ack: ParsedAck | undefined): MessageAnswer {
  const code = ack?.code ?? 'no-ack';
  const accepted = code === 'AA' || code === 'CA';
  return {
    path,
    index,
    controlId: controlIdOf(raw),
    answer: code,
    accepted,
    ...(accepted || !ack?.text ? {} : { detail: ack.text }),
  };
}

/** MSH-10 of a raw message; the header is ASCII in every charset the exchange takes. */
export function controlIdOf(raw: Buffer): string | undefined {
  const head = raw.toString('latin1', 0, Math.min(raw.length, 1024));
  if (!head.startsWith('MSH')) return undefined;
  const fields = head.split(/[\r\n]/)[0]!.split(head[3] ?? '|');
  // fields[0] is "MSH" and MSH-1 is the separator itself, so MSH-n is fields[n - 1].
  return fields[9] || undefined;
}

/** The diagnostics of an OperationOutcome answer and the CSV lines it names. */
function outcomeOf(text: string): { detail?: string; lines: Set<number> } {
  const lines = new Set<number>();
  let detail: string | undefined;
  try {
    const oo = JSON.parse(text) as { issue?: { diagnostics?: string; expression?: string[] }[] };
    const parts: string[] = [];
    for (const issue of oo.issue ?? []) {
      const said = [issue.diagnostics, ...(issue.expression ?? [])].filter(Boolean).join(' ');
      if (said) parts.push(said);
      for (const m of said.matchAll(/line (\d+)/g)) lines.add(Number(m[1]));
    }
    detail = parts.join('; ').slice(0, 300) || undefined;
  } catch {
    detail = text.slice(0, 300) || undefined;
  }
  return { detail, lines };
}
