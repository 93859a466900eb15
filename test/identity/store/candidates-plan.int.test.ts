import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { keepStatementsPrepared } from '../../../src/db/prepared-statements.ts';
import { candidatesByKeys, recordAndCandidates } from '../../../src/identity/store/identity-store.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

/** Blocking keys of record `n`, shaped like the matcher's (a name and a birth year shared by many). */
const keysOf = (n: number) => [
  `name-pinyin+birth-year:n${n % 300}|${1940 + (n % 80)}`,
  `name-pinyin+phone:n${n % 300}|1390000${n}`,
  `phone+birth-date:1390000${n}|${1940 + (n % 80)}`,
  `surname-pinyin+birth-date+sex:s${n % 40}|${1940 + (n % 80)}-0${1 + (n % 9)}-1${n % 9}|male`,
];

/**
 * Matching a record reads its candidates by blocking key, once per Patient written. PostgreSQL
 * must keep a plan for that statement rather than plan it again on every run (planning cost more
 * than running it once the tables held thousands of records).
 */
describe.each(inject('pgServers'))('identity candidates and their plan on $name', (server) => {
  let t: TestDatabase;
  const RECORDS = 4000;
  /** The records sharing a key with record `n`, worked out here from the keys themselves. */
  const sharing = (n: number) => {
    const own = new Set(keysOf(n));
    return Array.from({ length: RECORDS }, (_, i) => i + 1)
      .filter((m) => m !== n && keysOf(m).some((k) => own.has(k)))
      .map((m) => `Patient/r${m}`)
      .sort();
  };

  beforeAll(async () => {
    t = await createTestDatabase(server);
    await t.db.query(
      `INSERT INTO identity_record (patient_ref, person_id, state, match, demographics, source_updated, match_hash)
       SELECT 'Patient/r' || g, 'person-' || g, 'linked', '{}', '{}', now(), md5(g::text)
         FROM generate_series(1, ${RECORDS}) g`,
    );
    const numbers = Array.from({ length: RECORDS }, (_, i) => i + 1);
    await t.db.query(
      `INSERT INTO identity_block (key, patient_ref) SELECT * FROM unnest($1::text[], $2::text[])`,
      [numbers.flatMap(keysOf), numbers.flatMap((n) => keysOf(n).map(() => `Patient/r${n}`))],
    );
    await t.db.query('ANALYZE');
  });
  afterAll(async () => {
    await t?.drop();
  });

  it('finds the records sharing a key with the record', async () => {
    const { existing, candidates } = await recordAndCandidates(t.db, 'Patient/r7', keysOf(7));
    expect(existing?.patientRef).toBe('Patient/r7');
    expect(candidates.map((c) => c.patientRef)).toEqual(sharing(7));
    expect(sharing(7).length).toBeGreaterThan(3);
    const others = await candidatesByKeys(t.db, keysOf(7), 'Patient/r1207');
    expect(others.map((c) => c.patientRef)).toEqual(
      ['Patient/r7', ...sharing(7)].filter((r) => r !== 'Patient/r1207').sort(),
    );
    expect(await candidatesByKeys(t.db, [], 'Patient/r7')).toEqual([]);
  });

  it('keeps one plan after its first runs', async () => {
    // A new connection as the pipeline's pool makes them: statements named, so PostgreSQL caches them.
    const client = new pg.Client({ connectionString: t.url });
    await client.connect();
    try {
      keepStatementsPrepared(client);
      for (let n = 1; n <= 20; n++) await recordAndCandidates(client, `Patient/new${n}`, keysOf(n));
      const { rows } = await client.query<{ generic: string; custom: string }>(
        `SELECT sum(generic_plans) AS generic, sum(custom_plans) AS custom FROM pg_prepared_statements`,
      );
      // Five plans for the values, then PostgreSQL compares; over an array of keys it planned all 20.
      expect({ custom: Number(rows[0]!.custom), generic: Number(rows[0]!.generic) }).toEqual({
        custom: 5,
        generic: 15,
      });
    } finally {
      await client.end();
    }
  });
});
