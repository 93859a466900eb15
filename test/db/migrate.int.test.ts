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

  it('has the resource and index tables re-analysed after 2 % of their rows changed, not 10 %', async () => {
    const { rows } = await t.db.query<{ relname: string; reloptions: string[] | null }>(
      `SELECT relname, reloptions FROM pg_class
        WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace
          AND (relname = 'resource' OR relname LIKE 'sp\\_%')
        ORDER BY relname`,
    );
    expect(rows.map((r) => r.relname)).toEqual([
      'resource',
      'sp_date',
      'sp_number',
      'sp_quantity',
      'sp_reference',
      'sp_string',
      'sp_token',
      'sp_uri',
    ]);
    for (const r of rows) expect(r.reloptions).toContain('autovacuum_analyze_scale_factor=0.02');
  });

  it('runs safely when several processes migrate at once', async () => {
    const again = await Promise.all([migrate(t.db), migrate(t.db), migrate(t.db)]);
    expect(again.flat()).toEqual([]);
  });
});
