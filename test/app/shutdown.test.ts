import { describe, expect, it } from 'vitest';
import { createShutdown } from '../../src/app/shutdown.ts';
import { silentLogger, type Logger } from '../../src/kernel/logger.ts';

/** A logger that remembers its warnings (the rest is silent). */
function recordingLogger(): { logger: Logger; warnings: unknown[] } {
  const warnings: unknown[] = [];
  const logger = Object.create(silentLogger()) as Logger;
  logger.warn = ((obj: unknown, msg?: string) => void warnings.push({ obj, msg })) as Logger['warn'];
  return { logger, warnings };
}

describe('graceful shutdown', () => {
  it('runs the steps last-registered first, and goes on after one that fails', async () => {
    const order: string[] = [];
    const shutdown = createShutdown({ logger: silentLogger(), exit: () => undefined });
    shutdown.add('embedded servers', async () => void order.push('servers'));
    shutdown.add('pool', async () => {
      order.push('pool');
      throw new Error('already closed');
    });
    shutdown.add('worker', async () => void order.push('worker'));
    await shutdown.run('test');
    expect(order).toEqual(['worker', 'pool', 'servers']);
  });

  it('goes on without a step that never finishes, so the embedded servers still stop', async () => {
    const { logger, warnings } = recordingLogger();
    const order: string[] = [];
    const shutdown = createShutdown({ logger, stepTimeoutMs: 100, exit: () => undefined });
    shutdown.add('embedded servers', async () => void order.push('servers'));
    shutdown.add('worker', () => new Promise<void>(() => order.push('worker waits for Redis')));
    await shutdown.run('test');
    expect(order).toEqual(['worker waits for Redis', 'servers']);
    expect(warnings).toEqual([
      { obj: { step: 'worker', afterMs: 100 }, msg: 'shutdown step did not finish in time: going on' },
    ]);
  });
});
