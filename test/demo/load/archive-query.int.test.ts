import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sqlArchiveCounts } from '../../../src/demo/load/archive-query.ts';
import { PostgresInbox } from '../../../src/inbox/postgres-inbox.ts';
import type { NewMessage } from '../../../src/inbox/types.ts';
import { uuidv7 } from '../../../src/kernel/ids.ts';
import { outcome, issue } from '../../../src/kernel/outcomes.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

function message(institution: string, n: number): NewMessage {
  return {
    id: uuidv7(),
    institution,
    format: 'hl7v2',
    transport: 'http',
    type: 'ADT^A01',
    controlId: `LOAD-${institution}-${n}`,
    raw: Buffer.from(`MSH|^~\\&|HIS|X|||20261201||ADT^A01|LOAD-${n}|P|2.5.1\r`),
    state: 'queued',
  };
}

const badData = outcome(issue({ code: 'invalid', diagnostics: 'rejected for the test' }));

describe.each(inject('pgServers'))(
  'the start-up load counts the archive in PostgreSQL on $name',
  (server) => {
    let t: TestDatabase;
    let inbox: PostgresInbox;
    beforeAll(async () => {
      t = await createTestDatabase(server);
      inbox = new PostgresInbox(t.db);
    });
    afterAll(async () => t?.drop());

    it('counts queued messages of the given institutions and failures since the load began', async () => {
      const count = sqlArchiveCounts(t.db);
      const store = async (institution: string, n: number) =>
        (await inbox.store(message(institution, n))).message.id;

      // A failure from before the load: not the load's.
      await inbox.markFailed(await store('village-a', 1), badData);
      const { rows } = await t.db.query<{ now: Date }>('SELECT clock_timestamp() AS now');
      const since = rows[0]!.now.toISOString();
      expect(await count(['village-a', 'township-b'], since)).toEqual({ queued: 0, failed: 0 });

      const a2 = await store('village-a', 2);
      const a3 = await store('village-a', 3);
      const b1 = await store('township-b', 1);
      await store('other-c', 1); // another institution's: never counted
      expect(await count(['village-a', 'township-b'], since)).toEqual({ queued: 3, failed: 0 });

      await inbox.markStored(a2, []);
      await inbox.markFailed(a3, badData);
      expect(await count(['village-a', 'township-b'], since)).toEqual({ queued: 1, failed: 1 });
      expect(await count(['village-a'], since)).toEqual({ queued: 0, failed: 1 });

      await inbox.markStored(b1, []);
      expect(await count(['village-a', 'township-b'], since)).toEqual({ queued: 0, failed: 1 });
      // From the beginning of time, the earlier failure counts too.
      expect(await count(['village-a', 'township-b'], '2000-01-01T00:00:00Z')).toEqual({
        queued: 0,
        failed: 2,
      });
    });
  },
);
