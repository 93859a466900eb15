import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PLAN_FOR_VALUES } from '../../../src/db/prepared-statements.ts';
import { loadFhirModel } from '../../../src/repository/fhir-model.ts';
import { search } from '../../../src/repository/search/index.ts';
import { recordingQueryable } from '../../support/recording-queryable.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';
import { seed, str, tok } from './seed.ts';

const model = loadFhirModel();
const MRN = 'urn:test:mrn';

/**
 * The pipeline's look-ups (`identifier=system|value,…`) keep one generic plan per statement; any
 * other search is planned for its values. The generic plan must still find rows by the index.
 */
describe.each(inject('pgServers'))('identifier look-ups and their plan on $name', (server) => {
  let t: TestDatabase;
  let client: pg.PoolClient;
  const { db: recorder, statements } = recordingQueryable(() => client);

  beforeAll(async () => {
    t = await createTestDatabase(server);
    for (let n = 0; n < 400; n++)
      await seed(t.db, { resourceType: 'Patient', id: `p${n}` }, [
        tok('identifier', MRN, `M-${n}`),
        tok('gender', 'http://hl7.org/fhir/administrative-gender', n % 2 ? 'male' : 'female'),
        str('name', `王${n}`),
      ]);
    await t.db.query('ANALYZE');
    client = await t.db.pool.connect();
  });
  afterAll(async () => {
    client?.release();
    await t?.drop();
  });

  const run = async (params: [string, string][]) => {
    statements.length = 0;
    const r = await search(recorder, model, {
      resourceType: 'Patient',
      params,
      strict: true,
      baseUrl: 'http://hie.test/fhir',
    });
    return { ids: r.matches.map((m) => m.id).sort(), page: statements[0]! };
  };

  it('sends full identifiers as a statement that may keep its plan, and finds them', async () => {
    // Six, as the worker looks up an ORU's six results.
    const wanted = [7, 300, 11, 12, 13, 14];
    const { ids, page } = await run([['identifier', wanted.map((n) => `${MRN}|M-${n}`).join(',')]]);
    expect(ids).toEqual(wanted.map((n) => `p${n}`).sort());
    expect(page.text.startsWith(PLAN_FOR_VALUES)).toBe(false);
    // The plan PostgreSQL would keep for any values reads the token index, not every Patient.
    await client.query('SET plan_cache_mode = force_generic_plan');
    try {
      await client.query(`PREPARE identifier_plan_probe AS ${page.text}`);
      const literal = (v: unknown): string =>
        Array.isArray(v) ? `ARRAY[${v.map(literal).join(', ')}]` : client.escapeLiteral(String(v));
      const literals = page.values.map(literal).join(', ');
      const { rows } = await client.query(`EXPLAIN EXECUTE identifier_plan_probe(${literals})`);
      const plan = rows.map((row) => row['QUERY PLAN']).join('\n');
      expect(plan).toMatch(/sp_token_value/);
      expect(plan).not.toMatch(/Seq Scan on sp_token/);
      // The values bound the index scan: filtering the ORs after it reads every identifier row.
      expect(plan).toMatch(/Index Cond: \([^\n]*value = ANY/);
    } finally {
      await client.query('DEALLOCATE identifier_plan_probe');
      await client.query('RESET plan_cache_mode');
    }
  });

  it('plans every other search for its values', async () => {
    for (const params of [
      [['identifier', 'M-7']],
      [
        ['identifier', `${MRN}|M-7`],
        ['name', '王7'],
      ],
      [['gender', 'male']],
      [['identifier:not', `${MRN}|M-7`]],
      [
        ['identifier', `${MRN}|M-7`],
        ['_sort', '-_lastUpdated'],
      ],
    ] as [string, string][][]) {
      const { page } = await run(params);
      expect(page.text.startsWith(PLAN_FOR_VALUES), JSON.stringify(params)).toBe(true);
    }
  });
});
