import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { MllpClient } from '../../ingest/mllp/client.ts';
import type { DemoChannel, DemoFile, DemoManifest, ExpectedFailure } from '../types.ts';
import {
  sendCsv,
  sendHl7Http,
  sendJsonLine,
  sendMllp,
  type ChannelContext,
  type MessageAnswer,
} from './channels.ts';
import { InstitutionTokens } from './institution-token.ts';
import { manifestFiles } from './manifest.ts';
import { splitMessages } from './split.ts';

export interface SendOptions {
  /** The gateway's public URL (`runtime.json` `publicUrl`). */
  publicUrl: string;
  /** The MLLP listener; loopback is what the embedded demo allows without TLS. */
  mllp: { host: string; port: number };
  /** An institution's private key (PEM) for its client assertion, e.g. its demo key. */
  keyOf: (institution: string) => Promise<string>;
  /** Institutions sending at once within a phase (default 4). */
  concurrency?: number;
  /** Files already sent completely by an earlier, interrupted run: skipped. */
  skipFiles?: ReadonlySet<string>;
  /** HL7 v2 messages per POST on `hl7v2-http` (default 20). */
  hl7BatchSize?: number;
  /** CSV rows per POST, the header repeated in each (default 200). */
  csvChunkRows?: number;
  onProgress?: (progress: SendProgress) => void;
  /** Called once a file is sent completely, in order per institution (the loader records it). */
  onFileDone?: (file: DemoFile) => Promise<void> | void;
  signal?: AbortSignal;
}

export interface SendProgress {
  /** Messages of the whole manifest, and those sent so far (skipped files count as sent). */
  total: number;
  sent: number;
  accepted: number;
  refused: number;
  elapsedMs: number;
  /** Messages per second over this run's sends. */
  rate: number;
  phase: string;
}

/** An answer that contradicts the manifest. */
export interface Mismatch {
  path: string;
  index: number;
  institution: string;
  controlId?: string;
  /** What the manifest says: `accepted`, or the code the bad message must get. */
  expected: string;
  answer: string;
  detail?: string;
}

export interface SendReport {
  total: number;
  sent: number;
  skipped: number;
  accepted: number;
  refused: number;
  /** Deliberately bad messages refused as the manifest says. */
  expectedFailures: number;
  mismatches: Mismatch[];
  /** When this run started sending (ISO), for finding its messages in the archive afterwards. */
  startedAt: string;
  elapsedMs: number;
  rate: number;
  /** Tokens obtained from `/auth/token`, per institution (renewals count). */
  tokens: Record<string, number>;
  answers: MessageAnswer[];
}

/**
 * Replays a generated directory through the gateway: phase by phase; within a phase,
 * institutions concurrently (bounded), one institution's files in order, each institution with
 * its own backend-services token and, for HL7 v2 over MLLP, its own connection.
 */
export async function sendDemoDirectory(
  dir: string,
  manifest: DemoManifest,
  opts: SendOptions,
): Promise<SendReport> {
  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  const skip = opts.skipFiles ?? new Set<string>();
  const files = manifestFiles(manifest);
  const total = sum(files.map((f) => f.messages));
  const skipped = sum(files.filter((f) => skip.has(f.path)).map((f) => f.messages));
  const expected = new Map<string, ExpectedFailure>(
    manifest.expectedFailures.map((e) => [`${e.path}#${e.index}`, e]),
  );
  const tokens = new InstitutionTokens(opts.publicUrl, opts.keyOf);
  const answers: MessageAnswer[] = [];
  const counts = { sent: 0, accepted: 0, refused: 0 };
  let phaseName = '';
  const progress = (): SendProgress => {
    const elapsedMs = Date.now() - started;
    return {
      total,
      sent: skipped + counts.sent,
      accepted: counts.accepted,
      refused: counts.refused,
      elapsedMs,
      rate: elapsedMs > 0 ? (counts.sent * 1000) / elapsedMs : 0,
      phase: phaseName,
    };
  };
  const record = (batch: MessageAnswer[]) => {
    for (const a of batch) {
      answers.push(a);
      counts.sent++;
      if (a.accepted) counts.accepted++;
      else counts.refused++;
    }
    opts.onProgress?.(progress());
  };

  const connections = new Map<string, MllpClient>();
  try {
    for (const phase of manifest.phases) {
      phaseName = phase.name;
      const byInstitution = new Map<string, DemoFile[]>();
      for (const f of phase.files) {
        if (skip.has(f.path)) continue;
        byInstitution.set(f.institution, [...(byInstitution.get(f.institution) ?? []), f]);
      }
      await pool([...byInstitution.values()], opts.concurrency ?? 4, async (own) => {
        for (const file of own) {
          const ctx: ChannelContext = {
            publicUrl: opts.publicUrl,
            file,
            bearer: () => tokens.get(file.institution),
            mllp: () => {
              let c = connections.get(file.institution);
              if (!c) {
                c = new MllpClient(opts.mllp.host, opts.mllp.port);
                connections.set(file.institution, c);
              }
              return c;
            },
            ...(opts.signal ? { signal: opts.signal } : {}),
          };
          await sendFile(dir, ctx, opts, expected, record);
          await opts.onFileDone?.(file);
        }
      });
    }
  } finally {
    await Promise.all([...connections.values()].map((c) => c.close().catch(() => undefined)));
  }

  const mismatches: Mismatch[] = [];
  let expectedFailures = 0;
  const institutionOf = new Map(files.map((f) => [f.path, f.institution]));
  for (const a of answers) {
    const bad = expected.get(`${a.path}#${a.index}`);
    const ok = bad ? !a.accepted && originalCode(a.answer) === bad.expect : a.accepted;
    if (ok && bad) expectedFailures++;
    if (!ok)
      mismatches.push({
        path: a.path,
        index: a.index,
        institution: institutionOf.get(a.path) ?? '',
        ...(a.controlId ? { controlId: a.controlId } : bad ? { controlId: bad.controlId } : {}),
        expected: bad ? bad.expect : 'accepted',
        answer: a.answer,
        ...(a.detail ? { detail: a.detail } : {}),
      });
  }
  const end = progress();
  return {
    total,
    sent: end.sent,
    skipped,
    accepted: counts.accepted,
    refused: counts.refused,
    expectedFailures,
    mismatches,
    startedAt,
    elapsedMs: end.elapsedMs,
    rate: end.rate,
    tokens: Object.fromEntries(tokens.obtained),
    answers,
  };
}

async function sendFile(
  dir: string,
  ctx: ChannelContext,
  opts: SendOptions,
  expected: ReadonlyMap<string, ExpectedFailure>,
  record: (batch: MessageAnswer[]) => void,
): Promise<void> {
  const { file } = ctx;
  const bytes = await readFile(path.join(dir, ...file.path.split('/')));
  const { header, messages } = splitMessages(file.channel, bytes);
  if (messages.length !== file.messages)
    throw new Error(
      `${file.path}: the manifest lists ${file.messages} messages, the file holds ${messages.length}`,
    );
  const channel: DemoChannel = file.channel;
  if (channel === 'hl7v2-mllp') {
    // One at a time, answers recorded as they come so progress moves message by message.
    for (const [i, m] of messages.entries()) record(await sendMllp(ctx, [m], i));
    return;
  }
  if (channel === 'hl7v2-http') {
    for (const [first, chunk] of chunks(messages, opts.hl7BatchSize ?? 20)) {
      ctx.signal?.throwIfAborted();
      record(await sendHl7Http(ctx, chunk, first));
    }
    return;
  }
  if (channel.startsWith('csv:')) {
    const feed = channel.slice('csv:'.length);
    // A deliberately bad row goes alone, so the chunk's one answer is that row's answer.
    const isBad = (i: number) => expected.has(`${file.path}#${i}`);
    for (const [first, chunk] of chunks(messages, opts.csvChunkRows ?? 200, isBad)) {
      ctx.signal?.throwIfAborted();
      record(await sendCsv(ctx, feed, header!, chunk, first));
    }
    return;
  }
  const [target, contentType] =
    channel === 'fhir'
      ? ['/ingest/fhir', 'application/fhir+json']
      : [`/ingest/json/${channel.slice('json:'.length)}`, `application/json; charset=${file.charset}`];
  for (const [i, line] of messages.entries()) {
    ctx.signal?.throwIfAborted();
    record([await sendJsonLine(ctx, target, contentType, line, i)]);
  }
}

/** Consecutive runs of at most `size` items (with their first index); `alone` items form their own run. */
function* chunks<T>(items: T[], size: number, alone: (i: number) => boolean = () => false) {
  let first = 0;
  let run: T[] = [];
  for (const [i, item] of items.entries()) {
    if (alone(i) || run.length >= size) {
      if (run.length > 0) yield [first, run] as const;
      run = [];
      first = i;
    }
    run.push(item);
    if (alone(i)) {
      yield [first, run] as const;
      run = [];
      first = i + 1;
    }
  }
  if (run.length > 0) yield [first, run] as const;
}

/** Runs `work` over `items` with at most `limit` at once; the first failure stops the rest. */
async function pool<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const lanes = Array.from({ length: Math.min(Math.max(1, limit), items.length) }, async () => {
    while (next < items.length && failed === undefined) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (err) {
        failed ??= err;
      }
    }
  });
  await Promise.all(lanes);
  if (failed !== undefined) throw failed;
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

/** An enhanced-mode accept code (CE/CR/CA) is the same outcome as the manifest's AE/AR/AA. */
function originalCode(code: string): string {
  return code === 'CE' ? 'AE' : code === 'CR' ? 'AR' : code === 'CA' ? 'AA' : code;
}
