import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { workerClaims } from '../../src/auth/issue-token.ts';
import { PostgresInbox } from '../../src/inbox/postgres-inbox.ts';
import { silentLogger } from '../../src/kernel/logger.ts';
import { createIngestQueue } from '../../src/queue/ingest-queue.ts';
import { killHard, spawnFixture } from '../app/spawn-helpers.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';
import {
  countByState,
  deleteKeys,
  putOrganization,
  repositoryCounts,
  testPrefix,
  waitFor,
} from './support/harness.ts';
import { newMessage } from './support/messages.ts';

/**
 * The size: 5,000 messages (about 2.5 minutes on the 2-core machine since the write path
 * got faster). `HIE_TEST_KILL_MESSAGES` runs another size.
 */
const N = Number(process.env.HIE_TEST_KILL_MESSAGES ?? 5_000);
const INST = 'kill-test-hospital';
const server = inject('pgServers')[0]!;
const redisUrl = inject('redisUrl');
const prefix = testPrefix('kill');

describe(`SIGKILL of the worker in the middle of ${N} messages`, () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp(server);
    await putOrganization(app.fhirUrl, app.adminToken, INST);
  });
  afterAll(async () => {
    await deleteKeys(redisUrl, prefix);
    await app?.close();
  });

  it('after a restart every message is stored exactly once', { timeout: 600_000 }, async () => {
    const db = app.database.db;
    const inbox = new PostgresInbox(db);
    const queue = createIngestQueue({ redisUrl, prefix, logger: silentLogger() });
    const started = Date.now();
    try {
      for (let i = 0; i < N; i += 100) {
        const batch = Array.from({ length: Math.min(100, N - i) }, (_, k) =>
          newMessage({
            institution: INST,
            mrn: `K${i + k}`,
            visit: `KV${i + k}`,
            eventTime: '2024-08-01T08:00:00+08:00',
          }),
        );
        await Promise.all(batch.map((m) => inbox.store(m).then(() => queue.enqueue(m.id))));
      }
    } finally {
      await queue.close();
    }
    const stored = async () => (await countByState(db, INST)).stored ?? 0;
    const token = await app.token(workerClaims(app.publicUrl), 3600);
    const args = JSON.stringify({
      databaseUrl: app.database.url,
      redisUrl,
      publicUrl: app.publicUrl,
      prefix,
      token,
    });

    console.info(`[kill test] archived and enqueued in ${Date.now() - started} ms`);
    const first = await spawnFixture('test/queue/support/worker-process.ts', [args]);
    await waitFor('a third stored', async () => (await stored()) >= N / 3, 240_000, 50);
    await killHard(first.child);
    console.info(`[kill test] killed at ${Date.now() - started} ms`);
    const atKill = await stored();
    const second = await spawnFixture('test/queue/support/worker-process.ts', [args]);
    try {
      await waitFor('all stored', async () => (await stored()) === N, 300_000, 250);
    } finally {
      await killHard(second.child);
    }
    const states = await countByState(db, INST);
    const counts = await repositoryCounts(db, INST);
    console.info(
      `[kill test] ${N} messages, killed at ${atKill} stored, all stored after ${Date.now() - started} ms`,
    );
    expect(atKill).toBeLessThan(N);
    expect(states).toEqual({ stored: N });
    expect(counts).toMatchObject({ patients: N, mrns: N, encounters: N, visits: N, provenances: N });
  });
});
