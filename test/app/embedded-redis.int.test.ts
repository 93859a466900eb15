import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  RedisMissingError,
  startEmbeddedRedis,
  type EmbeddedServer,
} from '../../src/app/embedded/embedded-redis.ts';
import { waitForExit } from '../../src/app/embedded/processes.ts';
import { redisAnswers } from '../../src/app/embedded/redis-ping.ts';
import { silentLogger } from '../../src/kernel/logger.ts';
import { alive, killHard, spawnFixture } from './spawn-helpers.ts';

async function withClient<T>(url: string, fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  await r.connect();
  try {
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

describe('embedded Redis', () => {
  const dirs: string[] = [];
  const servers: EmbeddedServer[] = [];
  const tempDir = async () => {
    const d = await mkdtemp(path.join(os.tmpdir(), 'hie-eredis-'));
    dirs.push(d);
    return d;
  };
  afterAll(async () => {
    for (const s of servers) await s.stop().catch(() => undefined);
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('runs with AOF on and a password, and keeps data across a restart', async () => {
    const dataDir = await tempDir();
    const first = await startEmbeddedRedis({ dataDir, logger: silentLogger() });
    servers.push(first);
    expect(new URL(first.url).hostname).toBe('127.0.0.1');
    await withClient(first.url, async (r) => {
      expect(await r.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      expect(await r.config('GET', 'dir')).toEqual(['dir', path.join(dataDir, 'redis')]);
      await r.set('hie:test:kept', '秀英');
    });
    // Without the password the server refuses: other local users cannot read the queue.
    expect(await redisAnswers(first.port, 'not-the-password')).toBe(false);
    expect(await redisAnswers(first.port, decodeURIComponent(new URL(first.url).password))).toBe(true);
    await first.stop();
    expect(alive(first.pid!)).toBe(false);
    expect(await readdir(path.join(dataDir, 'redis', 'appendonlydir'))).not.toHaveLength(0);

    const second = await startEmbeddedRedis({ dataDir, logger: silentLogger() });
    servers.push(second);
    expect(await withClient(second.url, (r) => r.get('hie:test:kept'))).toBe('秀英');
    await second.stop();
  });

  it('after the launcher is killed, a new start stops the Redis left running', async () => {
    const dataDir = await tempDir();
    const { child, line } = await spawnFixture('test/app/fixtures/hold-redis.ts', [dataDir]);
    await withClient(line.url, (r) => r.set('hie:test:crash', 'yes'));
    await killHard(child);
    expect(alive(line.pid)).toBe(true);

    const again = await startEmbeddedRedis({ dataDir, logger: silentLogger() });
    servers.push(again);
    expect(await waitForExit(line.pid, 5_000)).toBe(true);
    expect(await withClient(again.url, (r) => r.get('hie:test:crash'))).toBe('yes');
    await again.stop();
  });

  it('says how to install redis-server when it is not on PATH', async () => {
    const dataDir = await tempDir();
    const saved = process.env.PATH;
    process.env.PATH = '';
    try {
      const failure = startEmbeddedRedis({ dataDir, logger: silentLogger() });
      await expect(failure).rejects.toBeInstanceOf(RedisMissingError);
      await expect(failure).rejects.toThrow(/apt-get install -y redis-server.*brew install redis.*REDIS_URL/);
    } finally {
      process.env.PATH = saved;
    }
  });
});
