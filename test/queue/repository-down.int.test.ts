import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PostgresInbox } from '../../src/inbox/postgres-inbox.ts';
import { silentLogger } from '../../src/kernel/logger.ts';
import { createIngestQueue } from '../../src/queue/ingest-queue.ts';
import { startIngestWorker } from '../../src/queue/ingest-worker.ts';
import { createRepositoryWriter } from '../../src/queue/repository-writer.ts';
import { portAnswers } from '../support/free-port.ts';
import {
  countByState,
  deleteKeys,
  putOrganization,
  repositoryCounts,
  testPrefix,
  waitFor,
} from './support/harness.ts';
import { BASE, newMessage } from './support/messages.ts';
import { type RestartableApp, startRestartableApp } from './support/restartable-app.ts';

const N = 400;
const DOWN_MS = 30_000;
const INST = 'down-test-hospital';
const server = inject('pgServers')[0]!;
const redisUrl = inject('redisUrl');
const prefix = testPrefix('down');

describe('the repository unreachable for 30 s', () => {
  let app: RestartableApp;
  beforeAll(async () => {
    app = await startRestartableApp(server);
    await putOrganization(app.fhirUrl, app.adminToken, INST);
  });
  afterAll(async () => {
    await deleteKeys(redisUrl, prefix);
    await app?.close();
  });

  it('loses none and doubles none', { timeout: 150_000 }, async () => {
    const logger = silentLogger();
    const db = app.database.db;
    const inbox = new PostgresInbox(db);
    // Default retry policy: 10 attempts, exponential from 1 s (about 17 minutes in all).
    const queue = createIngestQueue({ redisUrl, prefix, logger });
    const writer = createRepositoryWriter({
      fhirBaseUrl: app.fhirUrl,
      canonicalBase: BASE,
      token: () => app.workerToken(),
    });
    const worker = startIngestWorker({
      redisUrl,
      prefix,
      inbox,
      writer,
      logger,
      concurrency: 8,
      maxAttempts: 10,
    });
    const stored = async () => (await countByState(db, INST)).stored ?? 0;
    try {
      for (let i = 0; i < N; i += 100) {
        const batch = Array.from({ length: 100 }, (_, k) =>
          newMessage({
            institution: INST,
            mrn: `D${i + k}`,
            visit: `DV${i + k}`,
            eventTime: '2024-10-01T08:00:00+08:00',
          }),
        );
        await Promise.all(batch.map((m) => inbox.store(m).then(() => queue.enqueue(m.id))));
      }
      await waitFor('some stored', async () => (await stored()) >= N / 4, 60_000, 50);
      await app.stopListening();
      const atStop = await stored();
      expect(await portAnswers(new URL(app.publicUrl).port ? Number(new URL(app.publicUrl).port) : 80)).toBe(
        false,
      );
      await new Promise((r) => setTimeout(r, DOWN_MS));
      // Nothing was written while it was down, and nothing was given up on.
      const during = await countByState(db, INST);
      expect(during.failed).toBeUndefined();
      expect(during.stored).toBeLessThanOrEqual(atStop + 8); // at most the jobs in flight at the cut
      await app.listen();
      await waitFor('all stored', async () => (await stored()) === N, 90_000, 250);
      expect(atStop).toBeLessThan(N);
      expect(await countByState(db, INST)).toEqual({ stored: N });
      expect(await repositoryCounts(db, INST)).toMatchObject({
        patients: N,
        mrns: N,
        encounters: N,
        visits: N,
        provenances: N,
      });
      // The outage cost the messages no attempts: while the port refused connections, jobs waited
      // without spending any. Only writes cut mid-request at the stop (at most the 8 in flight)
      // were counted, once each: a reset may be the message's doing, a refusal never is.
      const { rows } = await db.query<{ retried: number; max: number }>(
        'SELECT count(*) FILTER (WHERE attempts > 1)::int AS retried, max(attempts)::int AS max FROM inbound_message',
      );
      expect(rows[0]!.retried).toBeLessThanOrEqual(8);
      expect(rows[0]!.max).toBeLessThanOrEqual(2);
    } finally {
      await worker.close();
      await queue.close();
    }
  });
});
