import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import {
  readDurabilitySettings,
  startEmbeddedPostgres,
  usableSocketDir,
  type EmbeddedServer,
} from '../../src/app/embedded/embedded-postgres.ts';
import { waitForExit } from '../../src/app/embedded/processes.ts';
import { silentLogger } from '../../src/kernel/logger.ts';
import { alive, killHard, spawnFixture } from './spawn-helpers.ts';

async function query(url: string, sql: string): Promise<any[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('embedded PostgreSQL', () => {
  const dirs: string[] = [];
  const servers: EmbeddedServer[] = [];
  // A folder as `mktemp -d` makes it: private to its owner (0700).
  const tempDir = async () => {
    const d = await mkdtemp(path.join(os.tmpdir(), 'hie-epg-'));
    dirs.push(d);
    return d;
  };
  afterAll(async () => {
    for (const s of servers) await s.stop().catch(() => undefined);
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it(
    'starts durable and UTF-8 in a 0700 folder, and keeps data across a restart',
    { timeout: 120_000 },
    async () => {
      const dataDir = await tempDir();
      expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
      const first = await startEmbeddedPostgres({ dataDir, logger: silentLogger() });
      servers.push(first);
      expect(new URL(first.url).pathname).toBe('/hie');
      expect(await readDurabilitySettings(first.url)).toEqual({
        fsync: 'on',
        synchronous_commit: 'on',
        full_page_writes: 'on',
      });
      const [enc] = await query(
        first.url,
        "SELECT pg_encoding_to_char(encoding) AS enc, datcollate FROM pg_database WHERE datname = 'hie'",
      );
      expect(enc).toEqual({ enc: 'UTF8', datcollate: 'C.UTF-8' });
      // Statistics follow a filling repository within seconds (see migration 012).
      expect(await query(first.url, 'SHOW autovacuum_naptime')).toEqual([{ autovacuum_naptime: '10s' }]);
      // Its own processes come in over the socket in the cluster's folder (no server address);
      // tools that read only host and port still reach it on loopback.
      expect(await query(first.url, 'SELECT inet_server_addr() AS addr')).toEqual([{ addr: null }]);
      expect(new URL(first.url).searchParams.get('host')).toBe(path.join(dataDir, 'postgres'));
      const tcp = new URL(first.url);
      tcp.search = '';
      expect(await query(tcp.toString(), 'SELECT inet_server_addr() AS addr')).toEqual([
        { addr: '127.0.0.1' },
      ]);
      await query(first.url, "CREATE TABLE kept (name text); INSERT INTO kept VALUES ('秀英')");
      await first.stop();
      expect(alive(first.pid!)).toBe(false);

      const second = await startEmbeddedPostgres({ dataDir, logger: silentLogger() });
      servers.push(second);
      expect(await query(second.url, 'SELECT name FROM kept')).toEqual([{ name: '秀英' }]);
      await second.stop();
    },
  );

  it('listens on TCP only where a socket path would be too long or unsafe to list', () => {
    expect(usableSocketDir('/tmp/hie-epg-abc/postgres')).toBe('/tmp/hie-epg-abc/postgres');
    expect(usableSocketDir(`/srv/${'x'.repeat(100)}/postgres`)).toBeUndefined();
    // unix_socket_directories is a comma-separated list: such a folder cannot be named in it.
    expect(usableSocketDir('/srv/a,b/postgres')).toBeUndefined();
  });

  it(
    'after the launcher is killed, a new start stops the server left running and starts again',
    { timeout: 120_000 },
    async () => {
      const dataDir = await tempDir();
      const { child, line } = await spawnFixture('test/app/fixtures/hold-postgres.ts', [dataDir]);
      await query(line.url, 'CREATE TABLE survived (n int); INSERT INTO survived VALUES (42)');
      await killHard(child);
      // The launcher is gone but its PostgreSQL still answers: the situation after a crash.
      expect(alive(line.pid)).toBe(true);
      expect(await query(line.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);

      const again = await startEmbeddedPostgres({ dataDir, logger: silentLogger() });
      servers.push(again);
      expect(await waitForExit(line.pid, 5_000)).toBe(true);
      expect(again.pid).not.toBe(line.pid);
      expect(await query(again.url, 'SELECT n FROM survived')).toEqual([{ n: 42 }]);
      await again.stop();
    },
  );

  it(
    'removes a stale postmaster.pid whose pid now belongs to another process, without signalling it',
    { timeout: 120_000 },
    async () => {
      const dataDir = await tempDir();
      const first = await startEmbeddedPostgres({ dataDir, logger: silentLogger() });
      servers.push(first);
      await first.stop();
      // A pid file as a power cut leaves it, its pid since taken by an unrelated process (this
      // test's own): PostgreSQL alone would refuse to start; we must neither signal that process nor stop.
      const pidFile = path.join(dataDir, 'postgres', 'postmaster.pid');
      await writeFile(
        pidFile,
        `${process.pid}\n${path.join(dataDir, 'postgres')}\n0\n5432\n/tmp\n127.0.0.1\n0\nready\n`,
      );
      const second = await startEmbeddedPostgres({ dataDir, logger: silentLogger() });
      servers.push(second);
      expect(alive(process.pid)).toBe(true); // we were not signalled
      expect(await query(second.url, 'SELECT current_database() AS db')).toEqual([{ db: 'hie' }]);
      await second.stop();
    },
  );
});
