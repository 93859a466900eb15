import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database } from './database.ts';

const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

/** Id of the advisory lock that serialises migrations when several processes start at once. */
const MIGRATION_LOCK = 7_246_001;

/**
 * Applies `migrations/NNN-name.sql` in order, each in its own transaction, recording them in
 * `hie_migration`. Several processes starting together (gateway and worker) take turns.
 */
export async function migrate(db: Database): Promise<string[]> {
  const files = (await readdir(MIGRATIONS_DIR)).filter((f) => /^\d{3}-.*\.sql$/.test(f)).sort();
  return db.transaction(async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(
      'CREATE TABLE IF NOT EXISTS hie_migration (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const done = new Set(
      (await client.query('SELECT version FROM hie_migration')).rows.map((r) => r.version),
    );
    const applied: string[] = [];
    for (const file of files) {
      const version = Number(file.slice(0, 3));
      if (done.has(version)) continue;
      await client.query(await readFile(path.join(MIGRATIONS_DIR, file), 'utf8'));
      await client.query('INSERT INTO hie_migration (version, name) VALUES ($1, $2)', [version, file]);
      applied.push(file);
    }
    return applied;
  });
}
