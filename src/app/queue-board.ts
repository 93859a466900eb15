import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Queue } from 'bullmq';
import express, { type Router } from 'express';
import { Redis } from 'ioredis';
import type { AuthContext } from '../auth/verify-token.ts';
import { forbidden } from '../kernel/outcomes.ts';
import { DEFAULT_PREFIX, INGEST_QUEUE, producerConnection } from '../queue/connection.ts';

const BASE_PATH = '/admin/queues';

/**
 * bull-board at `/admin/queues`, for the `admin` role only (the queue holds archive ids, but its
 * controls can retry and remove jobs). It looks at the same BullMQ queue through a Queue of its own.
 */
export function queueBoard(
  redisUrl: string,
  prefix = DEFAULT_PREFIX,
): { router: Router; close(): Promise<void> } {
  const queue = new Queue(INGEST_QUEUE, { connection: producerConnection(redisUrl), prefix });
  // Without a listener, every reconnect attempt while Redis is away is an "Unhandled error event"
  // on stderr; the outage is reported by /readyz and by the queue and worker logs.
  queue.on('error', () => undefined);
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BASE_PATH);
  createBullBoard({ queues: [new BullMQAdapter(queue)], serverAdapter });
  const router = express.Router();
  router.use(BASE_PATH, (_req, res, next) => {
    const auth = res.locals.auth as AuthContext | undefined;
    if (!auth?.roles.has('admin')) return next(forbidden('The queue dashboard is for administrators'));
    next();
  });
  router.use(BASE_PATH, serverAdapter.getRouter() as Router);
  return { router, close: () => queue.close() };
}

/** Readiness of Redis: one PING on a short-lived connection, bounded in time. */
export async function pingRedis(redisUrl: string): Promise<void> {
  const redis = new Redis(redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 1_500,
    retryStrategy: () => null,
  });
  // The failure is this function's rejection, with the cause the 'error' event carries (the
  // rejection itself only says "Connection is closed."); unheard, ioredis would print it to stderr.
  let cause: Error | undefined;
  redis.on('error', (err: Error) => (cause ??= err));
  try {
    await redis.connect();
    const pong = await redis.ping();
    if (pong !== 'PONG') throw new Error(`unexpected answer ${pong}`);
  } catch (err) {
    throw cause ?? err;
  } finally {
    redis.disconnect();
  }
}
