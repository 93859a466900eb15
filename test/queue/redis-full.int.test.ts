/**
 * Redis full: at `maxmemory` with `noeviction` (the only policy under which BullMQ keeps its jobs),
 * every write is refused with OOM. The gateway must still answer only what PostgreSQL holds, and
 * the messages it acknowledged must all be written once memory is back — without a restart.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/test-gateway.ts';
import { adtA01, CPH, readAck } from '../ingest/faults/support/hl7.ts';
import { countByState, repositoryCounts, waitFor } from './support/harness.ts';
import { type OwnRedis, startOwnRedis } from './support/own-redis.ts';

const N = 30;
const server = inject('pgServers')[0]!;

describe('Redis at maxmemory (noeviction)', () => {
  let redis: OwnRedis;
  let admin: Redis;
  let gw: TestGateway;
  beforeAll(async () => {
    redis = await startOwnRedis();
    admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    gw = await startTestGateway(server, redis.url);
  }, 120_000);
  afterAll(async () => {
    await gw?.close();
    admin?.disconnect();
    await redis?.close();
  });

  it(
    'acknowledges what PostgreSQL keeps, and writes all of it once Redis has room again',
    { timeout: 240_000 },
    async () => {
      const token = await gw.institutionToken(CPH);
      const db = gw.database.db;
      // Full: any command that could grow the data set is refused from now on.
      await admin.config('SET', 'maxmemory', '1');
      await expect(admin.set('hie-test-probe', 'x')).rejects.toThrow(/OOM/);

      const keys = Array.from({ length: N }, (_, i) => `FULL${i}`);
      const answers = await Promise.all(
        keys.map(async (key) => {
          const res = await fetch(`${gw.publicUrl}/ingest/hl7v2`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${token}`,
              'content-type': 'application/hl7-v2; charset=utf-8',
            },
            body: adtA01(key),
          });
          return { status: res.status, ack: readAck(await res.text()) };
        }),
      );
      // Each message is committed to PostgreSQL before its AA; its job is the reconciler's to make.
      expect(answers.map((a) => [a.status, a.ack?.code])).toEqual(keys.map(() => [200, 'AA']));
      expect(answers.map((a) => a.ack?.controlId).sort()).toEqual([...keys].sort());
      expect(await countByState(db, CPH)).toEqual({ queued: N });

      // While Redis stays full nothing moves, and nothing is given up: the reconciler (every 1 s,
      // 2 s grace here) keeps failing to enqueue, and the messages stay queued.
      await new Promise((r) => setTimeout(r, 4_000));
      expect(await countByState(db, CPH)).toEqual({ queued: N });

      await admin.config('SET', 'maxmemory', '0');
      await waitFor(
        'every message stored',
        async () => ((await countByState(db, CPH)).stored ?? 0) === N,
        120_000,
        250,
      );
      expect(await countByState(db, CPH)).toEqual({ stored: N });
      const counts = await repositoryCounts(db, CPH);
      expect(counts).toMatchObject({ patients: N, mrns: N, encounters: N, visits: N, provenances: N });
    },
  );
});
