import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Database } from '../../src/db/database.ts';
import { PLAN_FOR_VALUES } from '../../src/db/prepared-statements.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

// One connection (max 1), so the session's prepared statements and settings are visible to it.
describe('statements kept prepared on each connection', () => {
  let t: TestDatabase;
  let db: Database;
  beforeAll(async () => {
    t = await createTestDatabase(inject('pgServers')[0]!, { migrate: false });
    db = new Database(t.url, { max: 1 });
  });
  afterAll(async () => {
    await db?.close();
    await t?.drop();
  });

  const prepared = async () =>
    (await db.query<{ statement: string }>('SELECT statement FROM pg_prepared_statements', [])).rows.map(
      (r) => r.statement,
    );

  it('prepares a parameterised statement once, plans it for its values, and answers as before', async () => {
    const sql = 'SELECT $1::int + 1 AS n';
    expect((await db.query(sql, [1])).rows).toEqual([{ n: 2 }]);
    expect((await db.query(sql, [41])).rows).toEqual([{ n: 42 }]);
    expect((await prepared()).filter((s) => s === sql)).toHaveLength(1);
    // PostgreSQL may keep a generic plan for a prepared statement once it costs no more.
    expect((await db.query('SHOW plan_cache_mode')).rows[0].plan_cache_mode).toBe('auto');
    // Inside a transaction too (the same wrapped connection).
    expect(await db.transaction(async (c) => (await c.query(sql, [9])).rows[0].n)).toBe(10);
  });

  it('sends a statement marked to be planned for its values unnamed, every time', async () => {
    const sql = `${PLAN_FOR_VALUES}SELECT $1::text || 'x' AS s`;
    for (let i = 0; i < 7; i++) expect((await db.query(sql, [`v${i}`])).rows[0].s).toBe(`v${i}x`);
    expect((await prepared()).filter((s) => s.includes("|| 'x'"))).toEqual([]);
  });

  it('keeps at most 256 per connection; later texts still run, unnamed', async () => {
    for (let i = 0; i < 300; i++)
      expect((await db.query(`SELECT $1::int * ${i} AS n`, [2])).rows[0].n).toBe(2 * i);
    expect((await prepared()).length).toBeLessThanOrEqual(256);
  });
});
