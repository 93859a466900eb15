import { DelayedError, type Job, UnrecoverableError, Worker } from 'bullmq';
import { isConnectionError } from '../db/database.ts';
import type { Inbox } from '../inbox/types.ts';
import { issue, outcome } from '../kernel/outcomes.ts';
import type { Logger } from '../kernel/logger.ts';
import { DEFAULT_PREFIX, INGEST_QUEUE, workerConnection } from './connection.ts';
import type { WriteJobData } from './ingest-queue.ts';
import type { RepositoryWriter } from './repository-writer.ts';
import type { WorkerMetrics } from './worker-metrics.ts';
import { outageLog } from './outage-log.ts';
import { WriteError } from './write-errors.ts';

export interface IngestWorkerOptions {
  redisUrl: string;
  prefix?: string;
  inbox: Inbox;
  writer: RepositoryWriter;
  logger: Logger;
  concurrency: number;
  /** Attempts (counted in PostgreSQL, so crashes count too) before a message is failed as poison. */
  maxAttempts: number;
  /** How long a job stays locked to a worker that stopped answering (default 30 s). */
  lockDurationMs?: number;
  /** Counters and the receive → stored histogram, when the process exposes metrics. */
  metrics?: WorkerMetrics;
  /** How often orphaned (stalled) jobs are looked for (default 30 s). */
  stalledIntervalMs?: number;
  /** How long a job waits while PostgreSQL is unreachable before it tries again (default 1 s). */
  outageRetryMs?: number;
}

export interface IngestWorker {
  close(): Promise<void>;
}

export type JobResult = 'stored' | 'failed' | 'gone' | 'not-queued';

/**
 * The worker: one job = one archived message written to the repository.
 *
 * A job holds only the archive id and re-reads everything from PostgreSQL, so it is idempotent:
 * a message that is gone or no longer `queued` ends the job quietly (a duplicate job, or one the
 * reconciler re-enqueued after the first finished). Errors thrown back into BullMQ carry a code
 * and the archive id only, since Redis must never hold patient data.
 */
export function startIngestWorker(opts: IngestWorkerOptions): IngestWorker {
  const { inbox, writer, logger, maxAttempts } = opts;

  /**
   * Storage away (PostgreSQL unreachable from here, the repository answering 503, or refusing the
   * connection — down, restarting, or not listening yet while its process starts) is no fault of
   * the message: the job waits a short fixed time and tries again without spending one of its
   * attempts. Spending them would grow BullMQ's exponential backoff through an outage, so that
   * messages sat out long delays after storage was back — or ran out of attempts and were failed
   * as poison during a long outage.
   */
  const process = async (job: Job<WriteJobData>, token?: string): Promise<JobResult> => {
    try {
      return await processOnce(job);
    } catch (err) {
      if (token && isOutage(err)) {
        outage.waiting({
          id: job.data.id,
          code: (err as { code?: string }).code,
          status: (err as { status?: number }).status,
        });
        // The claim counted an attempt; give it back (PostgreSQL may still be away: then it stays).
        await inbox.releaseAttempt?.(job.data.id).catch(() => undefined);
        await job.moveToDelayed(Date.now() + outageRetryMs, token);
        throw new DelayedError();
      }
      throw err;
    }
  };
  const outageRetryMs = opts.outageRetryMs ?? 1_000;
  const outage = outageLog(logger);
  /** PostgreSQL unreachable here; the repository answering 503 (its storage is away) or unreachable. */
  const isOutage = (err: unknown) =>
    isConnectionError(err) ||
    (err instanceof WriteError && err.kind === 'transient' && (err.status === 503 || err.unreached));

  const processOnce = async (job: Job<WriteJobData>): Promise<JobResult> => {
    const id = job.data.id;
    const message = await inbox.claim(id);
    // Gone, or already stored/failed (a duplicate job, or one the reconciler revived): nothing to do.
    if (!message) return 'not-queued';
    const attempts = message.attempts;
    if (attempts > maxAttempts) {
      // Counted before writing: a message that kills the worker every time ends here too.
      await fail(id, 'HIE-WORKER-POISON', `Gave up after ${maxAttempts} attempts`, attempts);
      opts.metrics?.finished(message.institution, message.type, 'failed', message.receivedAt);
      throw new UnrecoverableError(`HIE-WORKER-POISON ${id}`);
    }
    try {
      const written = await writer.write(message);
      await inbox.markStored(id, written);
      outage.recovered();
      opts.metrics?.finished(message.institution, message.type, 'stored', message.receivedAt);
      logger.info(
        { id, state: 'stored', attempts, institution: message.institution, type: message.type },
        'message stored',
      );
      return 'stored';
    } catch (err) {
      if (isOutage(err)) throw err;
      if (!(err instanceof WriteError)) {
        // PostgreSQL away while marking, or a bug: retry; log the code, not the text (it may quote data).
        logger.warn(
          { id, attempts, code: (err as { code?: string }).code, name: (err as Error).name },
          'write attempt failed',
        );
        // No `cause`: whatever BullMQ keeps of this error goes to Redis, and the cause may quote data.
        // eslint-disable-next-line preserve-caught-error
        throw new Error(`HIE-WORKER-ERROR ${id}`);
      }
      if (err.kind === 'permanent') {
        await inbox.markFailed(id, err.outcome);
        opts.metrics?.finished(message.institution, message.type, 'failed', message.receivedAt);
        logger.warn({ id, state: 'failed', code: err.code, status: err.status }, 'message failed');
        throw new UnrecoverableError(`${err.code} ${id}`);
      }
      const lastTry = attempts >= maxAttempts || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (lastTry) {
        await fail(
          id,
          'HIE-WORKER-POISON',
          `Gave up after ${attempts} attempts; last error ${err.message}`,
          attempts,
          err,
        );
        opts.metrics?.finished(message.institution, message.type, 'failed', message.receivedAt);
        throw new UnrecoverableError(`HIE-WORKER-POISON ${id}`);
      }
      logger.info({ id, attempts, code: err.code, status: err.status }, 'write will be retried');
      // eslint-disable-next-line preserve-caught-error -- code and archive id only, as above
      throw new Error(`${err.code} ${id}`);
    }
  };

  const fail = async (id: string, code: string, text: string, attempts: number, last?: WriteError) => {
    const issues = [
      issue({ code: 'transient', diagnostics: text, hieCode: code }),
      ...(last?.outcome.issue ?? []),
    ];
    await inbox.markFailed(id, outcome(...issues));
    logger.warn({ id, state: 'failed', code, attempts }, 'message failed');
  };

  const worker = new Worker<WriteJobData, JobResult>(INGEST_QUEUE, process, {
    connection: workerConnection(opts.redisUrl),
    prefix: opts.prefix ?? DEFAULT_PREFIX,
    concurrency: opts.concurrency,
    lockDuration: opts.lockDurationMs ?? 30_000,
    stalledInterval: opts.stalledIntervalMs ?? 30_000,
    // A job orphaned by a killed worker goes back to waiting a few times before BullMQ gives up on it;
    // if it does, the message is still `queued` in PostgreSQL and the reconciler revives the job.
    maxStalledCount: 3,
  });
  worker.on('error', (err) => logger.warn({ err: err.message }, 'ingest worker: Redis error'));

  return {
    async close() {
      await worker.close();
    },
  };
}
