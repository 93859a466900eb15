import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort, portAnswers } from '../../support/free-port.ts';

/**
 * A redis-server of this test's own, without persistence, so stopping and starting it again
 * gives an EMPTY Redis on the same port — what a restart without AOF does to the queue.
 * Never the suite's shared Redis: that one belongs to other test files.
 */
export interface OwnRedis {
  url: string;
  /** SIGKILL: whatever it held is gone. */
  stop(): Promise<void>;
  /** A fresh, empty server on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** `extraArgs`: more redis-server options (a memory policy, a renamed command…). */
export async function startOwnRedis(extraArgs: string[] = []): Promise<OwnRedis> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hie-test-own-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(
      'redis-server',
      [
        ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'],
        ...extraArgs,
      ],
      {
        stdio: 'ignore',
      },
    );
    const until = Date.now() + 10_000;
    while (!(await portAnswers(port))) {
      if (Date.now() > until) throw new Error('redis-server did not start within 10 s');
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stop = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    stop,
    start,
    close: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
