import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { workerClaims } from '../../src/auth/issue-token.ts';
import { PostgresInbox } from '../../src/inbox/postgres-inbox.ts';
import { silentLogger } from '../../src/kernel/logger.ts';
import { createIngestQueue } from '../../src/queue/ingest-queue.ts';
import { startIngestWorker } from '../../src/queue/ingest-worker.ts';
import { startReconciler } from '../../src/queue/reconciler.ts';
import { createRepositoryWriter } from '../../src/queue/repository-writer.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';
import { countByState, putOrganization, repositoryCounts, waitFor } from './support/harness.ts';
import { BASE, newMessage } from './support/messages.ts';
import { type OwnRedis, startOwnRedis } from './support/own-redis.ts';

const N = 600;
const INST = 'redis-test-hospital';
const server = inject('pgServers')[0]!;

describe('Redis restarted empty in the middle of a run', () => {
  let app: TestApp;
  let redis: OwnRedis;
  beforeAll(async () => {
    redis = await startOwnRedis();
    app = await startTestApp(server);
    await putOrganization(app.fhirUrl, app.adminToken, INST);
  });
  afterAll(async () => {
    await redis?.close();
    await app?.close();
  });

  it('the reconciler recovers every message, each stored exactly once', { timeout: 360_000 }, async () => {
    const logger = silentLogger();
    const db = app.database.db;
    const inbox = new PostgresInbox(db);
    const queue = createIngestQueue({ redisUrl: redis.url, prefix: 'hie', logger, backoffMs: 200 });
    const writer = createRepositoryWriter({
      fhirBaseUrl: app.fhirUrl,
      canonicalBase: BASE,
      token: () => app.token(workerClaims(app.publicUrl), 300),
    });
    for (let i = 0; i < N; i += 100) {
      const batch = Array.from({ length: 100 }, (_, k) =>
        newMessage({
          institution: INST,
          mrn: `R${i + k}`,
          visit: `RV${i + k}`,
          eventTime: '2024-09-01T08:00:00+08:00',
        }),
      );
      await Promise.all(batch.map((m) => inbox.store(m).then(() => queue.enqueue(m.id))));
    }
    const worker = startIngestWorker({
      redisUrl: redis.url,
      inbox,
      writer,
      logger,
      concurrency: 8,
      maxAttempts: 10,
    });
    const reconciler = startReconciler({ inbox, queue, intervalMs: 500, graceMs: 2_000, logger });
    const stored = async () => (await countByState(db, INST)).stored ?? 0;
    try {
      await waitFor('some stored', async () => (await stored()) >= N / 4, 150_000, 50);
      await redis.stop();
      const atStop = await stored();
      await new Promise((r) => setTimeout(r, 2_000));
      await redis.start(); // empty: every waiting job is gone
      await waitFor('all stored', async () => (await stored()) === N, 180_000, 250);
      expect(atStop).toBeLessThan(N);
      expect(await countByState(db, INST)).toEqual({ stored: N });
      expect(await repositoryCounts(db, INST)).toMatchObject({
        patients: N,
        mrns: N,
        encounters: N,
        visits: N,
        provenances: N,
      });
    } finally {
      await reconciler.close();
      await worker.close();
      await queue.close();
    }
  });
});
