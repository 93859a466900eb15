import type { ConnectionOptions } from 'bullmq';

/** The one queue between gateway and worker (a BullMQ queue name, under the key prefix). */
export const INGEST_QUEUE = 'ingest';
/** The job name of a write; the job id is the archive id. */
export const WRITE_JOB = 'write';
export const DEFAULT_PREFIX = 'hie';

/** BullMQ builds its own ioredis clients from these options (one per role; workers duplicate). */
function base(redisUrl: string): { url: string; connectionName: string } {
  return { url: redisUrl, connectionName: 'county-hie' };
}

/**
 * Producer side (the gateway). A message is already committed to PostgreSQL when it is
 * enqueued, and the reconciler re-enqueues it if this fails, so an `add` should fail fast while
 * Redis is away instead of holding an acknowledgement: no offline queue, one retry.
 */
export function producerConnection(redisUrl: string): ConnectionOptions {
  return { ...base(redisUrl), enableOfflineQueue: false, maxRetriesPerRequest: 1 };
}

/**
 * Worker side. BullMQ requires `maxRetriesPerRequest: null` for blocking commands: a worker
 * waits for Redis to come back rather than failing the job it holds.
 */
export function workerConnection(redisUrl: string): ConnectionOptions {
  return { ...base(redisUrl), maxRetriesPerRequest: null };
}
