import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { migrate } from '../../src/db/migrate.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

describe.each(inject('pgServers'))('migrations on $name', (server) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(server, { migrate: false });
  });
  afterAll(async () => t?.drop());

  it('creates the repository tables once and is a no-op the second time', async () => {
    const first = await migrate(t.db);
    expect(first).toContain('001-repository.sql');
    const { rows } = await t.db.query(
      "SELECT to_regclass('public.resource') AS r, to_regclass('public.sp_token') AS t",
    );
    expect(rows[0]).toEqual({ r: 'resource', t: 'sp_token' });
    expect(await migrate(t.db)).toEqual([]);
  });

  it('runs safely when several processes migrate at once', async () => {
    const again = await Promise.all([migrate(t.db), migrate(t.db), migrate(t.db)]);
    expect(again.flat()).toEqual([]);
  });
});
