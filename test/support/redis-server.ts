import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort, portAnswers } from './free-port.ts';

/**
 * The machine's Redis on 127.0.0.1:6379 when it answers (tests use their own key prefixes and
 * never flush), else a `redis-server` of our own on a free port. `HIE_TEST_REDIS_URL` overrides.
 */
export async function startTestRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  if (process.env.HIE_TEST_REDIS_URL)
    return { url: process.env.HIE_TEST_REDIS_URL, stop: async () => undefined };
  if (await portAnswers(6379)) return { url: 'redis://127.0.0.1:6379', stop: async () => undefined };
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hie-test-redis-'));
  const port = await freePort();
  let child: ChildProcess;
  try {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
  } catch {
    throw new Error(
      'redis-server is not installed: apt-get install -y redis-server (or set HIE_TEST_REDIS_URL)',
    );
  }
  await new Promise<void>((resolve, reject) => {
    child.once('error', () =>
      reject(new Error('redis-server is not installed: apt-get install -y redis-server')),
    );
    const started = Date.now();
    const poll = async () => {
      if (await portAnswers(port)) return resolve();
      if (Date.now() - started > 10_000) return reject(new Error('redis-server did not start within 10 s'));
      setTimeout(poll, 50);
    };
    void poll();
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      child.kill('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
