import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadFhirModel } from '../../../src/repository/fhir-model.ts';
import { search } from '../../../src/repository/search/index.ts';
import { recordingQueryable } from '../../support/recording-queryable.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';
import { seed, str } from './seed.ts';

const model = loadFhirModel();
const SURNAMES = ['张', '李', '欧阳', '司马', '陈'];
const GIVEN = ['伟', '芳', '娜', '敏', '静', '丽', '强', '磊'];

/** `:contains` on Chinese names must be an index lookup on `sp_string_grams`, for one character too. */
describe.each(inject('pgServers'))(':contains plan on $name', (server) => {
  let t: TestDatabase;
  let client: pg.PoolClient;
  // The code under test runs for real, and its SQL can be EXPLAINed on the same connection.
  const { db: recorder, statements } = recordingQueryable(() => client);

  beforeAll(async () => {
    t = await createTestDatabase(server);
    let n = 0;
    for (const s of SURNAMES) {
      for (const g of GIVEN) {
        for (const h of GIVEN)
          await seed(t.db, { resourceType: 'Patient', id: `n${n++}` }, [str('name', `${s}${g}${h}`)]);
      }
    }
    await seed(t.db, { resourceType: 'Patient', id: 'x1' }, [str('name', '王秀英')]);
    await seed(t.db, { resourceType: 'Patient', id: 'x2' }, [str('name', '李秀')]);
    await seed(t.db, { resourceType: 'Patient', id: 'x3' }, [str('name', '英秀')]);
    await t.db.query('ANALYZE');
    client = await t.db.pool.connect();
    // Tiny tables make sequential scans look cheap; the question is whether the index CAN serve.
    await client.query('SET enable_seqscan = off');
  });
  afterAll(async () => {
    client?.release();
    await t?.drop();
  });

  async function planOf(value: string): Promise<{ ids: string[]; plan: string }> {
    statements.length = 0;
    const r = await search(recorder, model, {
      resourceType: 'Patient',
      params: [['name:contains', value]],
      strict: true,
      baseUrl: 'http://hie.test/fhir',
    });
    const page = statements[0]!;
    const { rows } = await client.query(`EXPLAIN ${page.text}`, page.values);
    return { ids: r.matches.map((m) => m.id).sort(), plan: rows.map((row) => row['QUERY PLAN']).join('\n') };
  }

  it('one character: name:contains=秀', async () => {
    const { ids, plan } = await planOf('秀');
    expect(ids).toEqual(['x1', 'x2', 'x3']);
    expect(plan).toContain('sp_string_grams');
  });

  it('two characters: name:contains=秀英 (order matters)', async () => {
    const { ids, plan } = await planOf('秀英');
    expect(ids).toEqual(['x1']);
    expect(plan).toContain('sp_string_grams');
  });

  it('three characters and a compound surname', async () => {
    expect((await planOf('欧阳伟')).ids).toHaveLength(8);
    expect((await planOf('阳伟芳')).ids).toEqual(['n129']);
  });
});
