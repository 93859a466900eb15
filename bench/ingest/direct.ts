/**
 * The baseline for "time in the queue": the same mapped Bundles written straight to the
 * repository with the worker's own writer (read current → one transaction), no gateway, no
 * archive, no BullMQ. Mapping happens before the clock starts.
 */
import type { SigningKey } from '../../src/auth/signing-key.ts';
import type { InboundMessage } from '../../src/inbox/types.ts';
import type { Institution } from '../../src/institutions/types.ts';
import { uuidv7 } from '../../src/kernel/ids.ts';
import { evaluateHl7 } from '../../src/pipeline/hl7v2-evaluate.ts';
import { createRepositoryWriter, workerTokenSource } from '../../src/queue/repository-writer.ts';
import type { FhirModel } from '../../src/repository/fhir-model.ts';
import type { BenchMessage } from './messages.ts';

export interface DirectResult {
  count: number;
  failed: number;
  wallMs: number;
  writeMs: number[];
}

export async function writeDirect(opts: {
  messages: readonly BenchMessage[];
  institution: Institution;
  model: FhirModel;
  canonicalBase: string;
  /** The repository's public URL: its `/fhir` is written, its audience is in the token. */
  publicUrl: string;
  signingKey: SigningKey;
  concurrency: number;
}): Promise<DirectResult> {
  const prepared: InboundMessage[] = opts.messages.map((m) => {
    const id = uuidv7();
    const e = evaluateHl7(m.text, opts.institution, id, {
      model: opts.model,
      canonicalBase: opts.canonicalBase,
    });
    if (!e.mapped || e.failure) throw new Error(`bench message ${m.controlId} does not map`);
    const now = new Date().toISOString();
    return {
      id,
      institution: opts.institution.id,
      format: 'hl7v2',
      transport: 'http',
      type: e.mapped.type,
      controlId: m.controlId,
      contentHash: '',
      raw: Buffer.from(m.text),
      receivedAt: now,
      state: 'queued',
      bundle: e.mapped.bundle,
      ...(e.mapped.eventTime ? { eventTime: e.mapped.eventTime } : {}),
      flags: [],
      attempts: 0,
      updatedAt: now,
    };
  });
  const writer = createRepositoryWriter({
    fhirBaseUrl: `${opts.publicUrl}/fhir`,
    canonicalBase: opts.canonicalBase,
    token: workerTokenSource(opts.signingKey, opts.publicUrl),
  });
  const writeMs: number[] = [];
  let failed = 0;
  let i = 0;
  const started = performance.now();
  const lane = async () => {
    while (i < prepared.length) {
      const m = prepared[i++]!;
      const t = performance.now();
      try {
        await writer.write(m);
        writeMs.push(performance.now() - t);
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, lane));
  return { count: prepared.length, failed, wallMs: performance.now() - started, writeMs };
}
