import { Redis } from 'ioredis';
import type { Logger } from '../kernel/logger.ts';

/** What the check found: the policy, or why it could not be read. */
export type EvictionCheck = { policy: string } | { unknown: string };

/**
 * BullMQ needs `maxmemory-policy noeviction`: under any other policy a full Redis drops keys,
 * jobs among them. Nothing is lost here — the archive in PostgreSQL is authoritative and the
 * reconciler re-queues a message whose job vanished — but jobs then wait for the reconciler's
 * round instead of running, and BullMQ's own notice is an unstructured line on stderr. So the
 * worker says it once at start, as a structured warning an operator's alerting can match. A
 * managed Redis that refuses CONFIG cannot be checked; that is said at info level.
 */
export async function checkEvictionPolicy(redisUrl: string, logger: Logger): Promise<EvictionCheck> {
  const redis = new Redis(redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 5_000,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined); // the rejection below carries it
  try {
    await redis.connect();
    const answer = (await redis.call('CONFIG', 'GET', 'maxmemory-policy')) as string[];
    const policy = answer[1];
    if (policy === undefined) throw new Error('CONFIG GET maxmemory-policy gave no value');
    if (policy !== 'noeviction')
      logger.warn(
        { policy, hieCode: 'HIE-QUEUE-EVICTION' },
        `Redis may evict queued jobs (maxmemory-policy ${policy}): the reconciler re-queues them from PostgreSQL, late; set maxmemory-policy noeviction`,
      );
    return { policy };
  } catch (err) {
    const reason = (err as Error).message;
    logger.info({ reason }, 'Redis eviction policy not checked (CONFIG GET refused or Redis away)');
    return { unknown: reason };
  } finally {
    redis.disconnect();
  }
}
