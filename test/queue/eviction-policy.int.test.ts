/**
 * The worker's start-up check of Redis's memory policy, against redis-servers of this test's own
 * (the suite's shared Redis is never reconfigured): silent on noeviction, a structured warning
 * on a policy that may drop queued jobs, a note when CONFIG is refused as managed Redis does.
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { checkEvictionPolicy } from '../../src/queue/eviction-policy.ts';
import { type OwnRedis, startOwnRedis } from './support/own-redis.ts';

function recordingLogger() {
  const lines: { level: number; msg: string; [k: string]: unknown }[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

const started: OwnRedis[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((r) => r.close()));
});
const own = async (args: string[] = []) => {
  const r = await startOwnRedis(args);
  started.push(r);
  return r;
};

describe('checkEvictionPolicy', () => {
  it('says nothing of noeviction, the policy BullMQ needs', async () => {
    const { logger, lines } = recordingLogger();
    expect(await checkEvictionPolicy((await own()).url, logger)).toEqual({ policy: 'noeviction' });
    expect(lines).toEqual([]);
  });

  it('warns once, with a code to alert on, of a policy that may drop jobs', async () => {
    const { logger, lines } = recordingLogger();
    const redis = await own(['--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru']);
    expect(await checkEvictionPolicy(redis.url, logger)).toEqual({ policy: 'allkeys-lru' });
    expect(lines).toEqual([
      expect.objectContaining({ level: 40, policy: 'allkeys-lru', hieCode: 'HIE-QUEUE-EVICTION' }),
    ]);
    expect(lines[0]!.msg).toContain('set maxmemory-policy noeviction');
  });

  it('notes, without failing, a Redis that refuses CONFIG, and one that is not there', async () => {
    const { logger, lines } = recordingLogger();
    const managed = await own(['--rename-command', 'CONFIG', '""']);
    const refused = await checkEvictionPolicy(managed.url, logger);
    expect(refused).toEqual({ unknown: expect.stringMatching(/unknown command/i) });
    await managed.stop();
    expect(await checkEvictionPolicy(managed.url, logger)).toHaveProperty('unknown');
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [30, 'Redis eviction policy not checked (CONFIG GET refused or Redis away)'],
      [30, 'Redis eviction policy not checked (CONFIG GET refused or Redis away)'],
    ]);
  });
});
