import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { readDurabilitySettings, startEmbeddedPostgres } from '../../src/app/embedded/embedded-postgres.ts';
import type { Logger } from '../../src/kernel/logger.ts';

/** Where a benchmark runs: databases of its own, created here and dropped by `close()`. */
export interface BenchPostgres {
  /** `DATABASE_URL` or `embedded (temp dir)`. */
  where: string;
  /** Creates an empty database with a unique name; dropped again by `close()`. */
  createDatabase(label: string): Promise<string>;
  close(): Promise<void>;
}

export interface ServerSettings {
  version: string;
  fsync: string;
  synchronous_commit: string;
  full_page_writes: string;
  shared_buffers: string;
}

/**
 * `DATABASE_URL` set: databases on that server, never touching the others there.
 * Unset: a throw-away embedded PostgreSQL in a temp dir, started exactly as the product starts it
 * (durable settings), so the figures are those a default installation gets.
 */
export async function openBenchPostgres(logger: Logger): Promise<BenchPostgres> {
  const given = process.env.DATABASE_URL?.trim();
  if (given) return onServer(given, `DATABASE_URL (${new URL(given).host})`, async () => undefined);
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hie-bench-pg-'));
  const server = await startEmbeddedPostgres({ dataDir, logger });
  return onServer(server.url, `embedded PostgreSQL in ${dataDir}`, async () => {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  });
}

function onServer(url: string, where: string, stop: () => Promise<void>): BenchPostgres {
  const adminUrl = withDatabase(url, 'postgres');
  const created: string[] = [];
  const admin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };
  return {
    where,
    async createDatabase(label) {
      const name = `hie_bench_${label}_${process.pid}_${randomBytes(3).toString('hex')}`;
      await admin((c) => c.query(`CREATE DATABASE ${name} ENCODING 'UTF8' TEMPLATE template0`));
      created.push(name);
      return withDatabase(url, name);
    },
    async close() {
      for (const name of created.splice(0)) {
        await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).catch((err) =>
          console.error(`could not drop ${name}: ${(err as Error).message}`),
        );
      }
      await stop();
    },
  };
}

/** Same server and credentials, another database. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** The settings that decide what a commit costs, as the server under test runs them. */
export async function serverSettings(url: string): Promise<ServerSettings> {
  const durability = await readDurabilitySettings(url);
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await c.connect();
  try {
    const show = async (name: string) => String((await c.query(`SHOW ${name}`)).rows[0]?.[name]);
    return {
      version: await show('server_version'),
      ...durability,
      shared_buffers: await show('shared_buffers'),
    };
  } finally {
    await c.end();
  }
}
