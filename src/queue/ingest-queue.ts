import { Queue } from 'bullmq';
import type { Logger } from '../kernel/logger.ts';
import { DEFAULT_PREFIX, INGEST_QUEUE, WRITE_JOB, producerConnection } from './connection.ts';
import type { IngestQueue } from './types.ts';

/** What a job carries: the archive row id, nothing else (no patient data in Redis). */
export interface WriteJobData {
  id: string;
}

export interface IngestQueueOptions {
  redisUrl: string;
  /** BullMQ key prefix (tests use one of their own). */
  prefix?: string;
  logger: Logger;
  /** Attempts per job before the message is failed as poison. */
  attempts?: number;
  /** First retry delay; doubled each time. */
  backoffMs?: number;
  /** An enqueue that takes longer is given up (the reconciler will enqueue the message). */
  enqueueTimeoutMs?: number;
}

/** The queue as the reconciler and replay see it: `requeue` also revives a finished job id. */
export interface ReconcilableQueue extends IngestQueue {
  /**
   * Makes sure a job for the message is waiting. BullMQ ignores `add` for an id it still keeps
   * (completed or failed jobs are kept for a while), so a finished job is removed first.
   * Returns what was done: `added`, `revived` (a finished job was replaced) or `present`.
   */
  requeue(messageId: string): Promise<'added' | 'revived' | 'present'>;
}

export const DEFAULT_ATTEMPTS = 10;

export function createIngestQueue(opts: IngestQueueOptions): ReconcilableQueue {
  const attempts = opts.attempts ?? DEFAULT_ATTEMPTS;
  const timeoutMs = opts.enqueueTimeoutMs ?? 2_000;
  const queue = new Queue<WriteJobData, unknown, string>(INGEST_QUEUE, {
    connection: producerConnection(opts.redisUrl),
    prefix: opts.prefix ?? DEFAULT_PREFIX,
    defaultJobOptions: {
      attempts,
      backoff: { type: 'exponential', delay: opts.backoffMs ?? 1_000 },
      // Bounded history for bull-board; the archive in PostgreSQL is the record that counts.
      removeOnComplete: { count: 1_000, age: 24 * 3600 },
      removeOnFail: { count: 5_000, age: 7 * 24 * 3600 },
    },
  });
  // Without a listener an unreachable Redis would be an unhandled 'error' event.
  queue.on('error', (err) => opts.logger.warn({ err: err.message }, 'ingest queue: Redis error'));

  const add = (id: string) => withTimeout(queue.add(WRITE_JOB, { id }, { jobId: id }), timeoutMs);

  return {
    async enqueue(messageId) {
      await add(messageId);
    },
    async requeue(messageId) {
      const state = await withTimeout(queue.getJobState(messageId), timeoutMs);
      if (state === 'completed' || state === 'failed') {
        await withTimeout(queue.remove(messageId), timeoutMs);
        await add(messageId);
        return 'revived';
      }
      if (state === 'unknown') {
        await add(messageId);
        return 'added';
      }
      return 'present';
    },
    async depth() {
      return withTimeout(queue.getJobCountByTypes('waiting', 'active', 'delayed', 'prioritized'), timeoutMs);
    },
    async close() {
      await queue.close();
    },
  };
}

/** Rejects with a code (never message content) when Redis does not answer in time. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`HIE-QUEUE-TIMEOUT: Redis did not answer within ${ms} ms`)),
      ms,
    );
  });
  promise.catch(() => undefined); // the late promise may still reject after the timeout
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
