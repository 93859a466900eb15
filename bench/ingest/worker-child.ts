/**
 * The worker as a bench child: `startWorkerParts` exactly as `npm run worker` starts it (worker,
 * reconciler, queue) on the bench's BullMQ prefix, writing to BENCH_TARGET_PORT's `/fhir` (the
 * repository child, or the gateway in the product layout). Its token audience is that server's
 * public URL, signed with the key in the shared HIE_DATA_DIR.
 * Env: DATABASE_URL, REDIS_URL, HIE_DATA_DIR, BENCH_PREFIX, BENCH_TARGET_PORT,
 * BENCH_WORKER_CONCURRENCY (default: the product's).
 */
import { startWorkerParts } from '../../src/app/main-worker.ts';
import { loadOrCreateSigningKey } from '../../src/auth/signing-key.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { Database } from '../../src/db/database.ts';
import { createLogger } from '../../src/kernel/logger.ts';
import { serveIpc } from './child-ipc.ts';

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`worker-child needs ${name}`);
  return v;
};
const databaseUrl = env('DATABASE_URL');
const redisUrl = env('REDIS_URL');
const config = loadConfig({
  PORT: env('BENCH_TARGET_PORT'),
  HIE_DATA_DIR: env('HIE_DATA_DIR'),
  DATABASE_URL: databaseUrl,
  REDIS_URL: redisUrl,
  ...(process.env.HIE_LOG_LEVEL ? { HIE_LOG_LEVEL: process.env.HIE_LOG_LEVEL } : {}),
});
const logger = createLogger(config.logLevel, 'hie-worker');
const db = new Database(databaseUrl, { logger, applicationName: 'county-hie-bench-worker' });
const signingKey = await loadOrCreateSigningKey(config.dataDir);
const concurrency = Number(process.env.BENCH_WORKER_CONCURRENCY) || undefined;
const parts = startWorkerParts({
  config,
  logger,
  db,
  redisUrl,
  signingKey,
  prefix: env('BENCH_PREFIX'),
  ...(concurrency ? { concurrency } : {}),
});

let closing = false;
const close = async () => {
  if (closing) return;
  closing = true;
  await parts.close().catch(() => undefined);
  await db.close().catch(() => undefined);
  process.exit(0);
};
process.once('SIGTERM', () => void close());
process.once('SIGINT', () => void close());

serveIpc().ready({ pid: process.pid, concurrency: concurrency ?? 'product default' });
