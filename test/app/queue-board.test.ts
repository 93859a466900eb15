import { afterEach, describe, expect, it, vi } from 'vitest';
import { freePort } from '../../src/app/embedded/processes.ts';
import { pingRedis } from '../../src/app/queue-board.ts';

afterEach(() => vi.restoreAllMocks());

describe('the Redis readiness check', () => {
  it('rejects when nothing answers, without an unhandled error on stderr', async () => {
    const printed = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const port = await freePort();
    await expect(pingRedis(`redis://127.0.0.1:${port}`)).rejects.toThrow(/ECONNREFUSED/);
    // ioredis reports an 'error' event nobody listens to with console.error, a tick later.
    await new Promise((r) => setTimeout(r, 50));
    expect(printed).not.toHaveBeenCalled();
  });
});
