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

  it('flags the later of two unflagged messages under one control id before making the first unique', async () => {
    // An archive as it stood before migration 013, holding such a pair.
    await t.db.query('DROP INDEX inbound_message_first_control_id');
    await t.db.query('DELETE FROM hie_migration WHERE version = 13');
    const row = (id: string, hash: string, at: string, flags: string) =>
      t.db.query(
        `INSERT INTO inbound_message (id, institution, format, transport, control_id, content_hash, raw, state, received_at, flags)
         VALUES ($1, 'cph', 'hl7v2', 'http', 'C-7', $2, 'x', 'stored', $3, $4::text[])`,
        [id, hash, at, flags],
      );
    await row('00000000-0000-7000-8000-000000000001', 'h1', '2026-01-01T00:00:00Z', '{}');
    await row('00000000-0000-7000-8000-000000000002', 'h2', '2026-01-02T00:00:00Z', '{}');
    await row('00000000-0000-7000-8000-000000000003', 'h3', '2026-01-03T00:00:00Z', '{control-id-reused}');
    expect(await migrate(t.db)).toEqual(['013-first-control-id.sql']);
    const { rows } = await t.db.query<{ id: string; flags: string[] }>(
      "SELECT id, flags FROM inbound_message WHERE control_id = 'C-7' ORDER BY id",
    );
    expect(rows.map((r) => r.flags)).toEqual([[], ['control-id-reused'], ['control-id-reused']]);
    await expect(
      row('00000000-0000-7000-8000-000000000004', 'h4', '2026-01-04T00:00:00Z', '{}'),
    ).rejects.toMatchObject({ code: '23505' });
  });

  it('runs safely when several processes migrate at once', async () => {
    const again = await Promise.all([migrate(t.db), migrate(t.db), migrate(t.db)]);
    expect(again.flat()).toEqual([]);
  });
});
