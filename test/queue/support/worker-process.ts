// A worker in a process of its own, for the SIGKILL test: `node bin/run-ts.mjs <this> '<json>'`.
// Prints one JSON line when running. Uses the same composition as `npm run worker`
// (startWorkerParts), with short stall timings so the jobs of a killed worker come back quickly.
import { loadConfig } from '../../../src/config/load-config.ts';
import { Database } from '../../../src/db/database.ts';
import { createLogger, silentLogger } from '../../../src/kernel/logger.ts';
import { startWorkerParts } from '../../../src/app/main-worker.ts';

const args = JSON.parse(process.argv[2] ?? '{}') as {
  databaseUrl: string;
  redisUrl: string;
  publicUrl: string;
  prefix: string;
  /** A worker token signed by the test app's key (its key file is not shared). */
  token: string;
};
const config = loadConfig({
  DATABASE_URL: args.databaseUrl,
  REDIS_URL: args.redisUrl,
  HIE_PUBLIC_URL: args.publicUrl,
});
const logger = process.env.HIE_TEST_CHILD_LOG ? createLogger('debug') : silentLogger();
const db = new Database(args.databaseUrl, { max: 12 });
const parts = startWorkerParts({
  config,
  logger,
  db,
  redisUrl: args.redisUrl,
  token: async () => args.token,
  prefix: args.prefix,
  concurrency: 8,
  lockDurationMs: 3_000,
  stalledIntervalMs: 2_000,
  reconcileEveryMs: 2_000,
  reconcileGraceMs: 10_000,
});
process.on('SIGTERM', () => {
  void parts
    .close()
    .then(() => db.close())
    .then(() => process.exit(0));
});
process.stdout.write(`${JSON.stringify({ pid: process.pid })}\n`);
