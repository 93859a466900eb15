import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Database } from '../../src/db/database.ts';
import { migrate } from '../../src/db/migrate.ts';
import type { TestPgServer } from './postgres-servers.ts';

export interface TestDatabase {
  url: string;
  db: Database;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

/** A fresh, migrated database of its own on the given server, for one test file. */
export async function createTestDatabase(
  server: TestPgServer,
  opts: { migrate?: boolean } = {},
): Promise<TestDatabase> {
  const name = `hie_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: server.adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} ENCODING 'UTF8' TEMPLATE template0`);
  } finally {
    await admin.end();
  }
  const url = new URL(server.adminUrl);
  url.pathname = `/${name}`;
  const db = new Database(url.toString(), { max: 10 });
  if (opts.migrate !== false) await migrate(db);
  return {
    url: url.toString(),
    db,
    drop: async () => {
      await db.close().catch(() => undefined);
      const a = new pg.Client({ connectionString: server.adminUrl });
      await a.connect();
      try {
        await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await a.end();
      }
    },
  };
}
