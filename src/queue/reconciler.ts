import type { Inbox } from '../inbox/types.ts';
import type { Logger } from '../kernel/logger.ts';
import type { ReconcilableQueue } from './ingest-queue.ts';
import type { IngestQueue } from './types.ts';

export interface ReconcilerOptions {
  inbox: Inbox;
  /** With `requeue` (our BullMQ queue) finished jobs are revived too; else `enqueue` is used. */
  queue: IngestQueue & Partial<Pick<ReconcilableQueue, 'requeue'>>;
  /** How often to look (e.g. 30 s). */
  intervalMs: number;
  /** A message queued for less than this is left alone: its job is most likely on its way. */
  graceMs: number;
  logger: Logger;
  /** Most ids looked at per run. */
  batch?: number;
}

export interface Reconciler {
  /** Looks once (at messages unchanged since `olderThan`, default: the grace period ago). */
  runOnce(olderThan?: Date): Promise<number>;
  close(): Promise<void>;
}

/**
 * The safety net of the durability rule: PostgreSQL, not Redis, knows which messages still need
 * writing. Every `queued` message older than the grace period gets its job back if Redis has
 * none for it — Redis restarted empty, the enqueue failed after the commit, or BullMQ gave up on
 * a job whose worker was killed. A job that is waiting or active is left as it is.
 */
export function startReconciler(opts: ReconcilerOptions): Reconciler {
  const { inbox, queue, logger } = opts;
  const batch = opts.batch ?? 20_000;
  const requeue = async (id: string): Promise<string> =>
    queue.requeue ? queue.requeue(id) : queue.enqueue(id).then(() => 'added');
  let running: Promise<number> | undefined;
  let closed = false;

  const runOnce = (olderThan: Date = new Date(Date.now() - opts.graceMs)): Promise<number> => {
    // One run at a time: a slow run is not overlapped by the next tick.
    running ??= (async () => {
      const ids = await inbox.pendingIds(olderThan, batch);
      let revived = 0;
      // Chunks of concurrent requests: ioredis pipelines them on one connection.
      for (let i = 0; i < ids.length && !closed; i += 200) {
        const results = await Promise.all(ids.slice(i, i + 200).map((id) => requeue(id)));
        revived += results.filter((r) => r !== 'present').length;
      }
      if (revived > 0) logger.info({ revived, pending: ids.length }, 'reconciler re-enqueued messages');
      return revived;
    })().finally(() => (running = undefined));
    return running;
  };

  const timer = setInterval(() => {
    runOnce().catch((err: Error) => logger.warn({ err: err.message }, 'reconciler run failed'));
  }, opts.intervalMs);
  timer.unref();
  // At start, everything still queued from before (a shutdown that closed the queue under a
  // request, a crash) gets its job now rather than after the grace period. Safe without grace:
  // a job that exists is left alone, and the job id is the archive id, so nothing runs twice.
  const startedAt = new Date();
  runOnce(startedAt).catch((err: Error) =>
    logger.warn({ err: err.message }, 'reconciler start-up sweep failed'),
  );

  return {
    runOnce,
    async close() {
      closed = true;
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
