import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { selectEntries } from '../../src/summary/select-entries.ts';
import { recordStateOf } from '../../src/summary/record-state.ts';
import { recordingQueryable } from '../support/recording-queryable.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

/**
 * A person read often has far more AuditEvents than records in their compartment. The summary's
 * selection must reach the records through the index that leaves audit events out (migration
 * 009), not fetch every audit row from the heap; the record state that keys kept summaries reads
 * no compartment at all, only the change counters (migration 011).
 */
describe.each(inject('pgServers'))('summary queries on a much-read person, on $name', (server) => {
  let t: TestDatabase;
  let client: pg.PoolClient;
  // The code under test runs for real, and its SQL can be EXPLAINed on the same connection.
  const { db: recorder, statements } = recordingQueryable(() => client);

  beforeAll(async () => {
    t = await createTestDatabase(server);
    const rows = (type: string, n: number, patient: string, content: (i: number) => object) =>
      t.db.query(
        `INSERT INTO resource (resource_type, id, version_id, last_updated, deleted, compartments, content)
         SELECT $1, $1 || '-' || $3 || '-' || i, '1', now(), false, ARRAY[$3], ($4::jsonb->>(i - 1))::jsonb
           FROM generate_series(1, $2::int) AS i`,
        [type, n, patient, JSON.stringify(Array.from({ length: n }, (_, i) => JSON.stringify(content(i))))],
      );
    for (const patient of ['p1', 'p2', 'p3']) {
      await rows('Observation', 40, patient, (i) => ({
        resourceType: 'Observation',
        status: 'final',
        id: `o${i}`,
      }));
      await rows('AuditEvent', 2000, patient, (i) => ({ resourceType: 'AuditEvent', id: `a${i}` }));
    }
    await t.db.query('ANALYZE');
    client = await t.db.pool.connect();
  });
  afterAll(async () => {
    client?.release();
    await t?.drop();
  });

  async function plans(run: () => Promise<unknown>): Promise<string[]> {
    statements.length = 0;
    await run();
    const out: string[] = [];
    for (const s of statements) {
      const { rows } = await client.query(`EXPLAIN ${s.text}`, s.values);
      out.push(rows.map((r) => r['QUERY PLAN']).join('\n'));
    }
    return out;
  }

  it('the record state reads the change counters by key; the selection uses the index without audit events', async () => {
    const person = { golden: { id: 'g1', meta: { versionId: '1' } }, sourceIds: ['p1'] };
    const [state] = await plans(() => recordStateOf(recorder, person));
    expect(state).toMatch(/record_change/);
    expect(state).not.toMatch(/resource_compartments/);

    const [selection] = await plans(() => selectEntries(recorder, ['p1'], new Date('2026-11-05T00:00:00Z')));
    expect(selection).toMatch(/resource_compartments_records/);
    expect(selection).not.toMatch(/resource_compartments\b(?!_)/);
  });

  it('and the record state counts the records written, not the audit events', async () => {
    const state = await recordStateOf(t.db, {
      golden: { id: 'g1', meta: { versionId: '1' } },
      sourceIds: ['p1', 'p2'],
    });
    expect(state.split('|')[0]).toBe('80');
  });
});
