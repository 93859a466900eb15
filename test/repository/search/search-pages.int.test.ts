import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { OperationOutcomeError } from '../../../src/kernel/outcomes.ts';
import { loadFhirModel } from '../../../src/repository/fhir-model.ts';
import {
  search,
  searchResultToBundle,
  SUBSETTED,
  type SearchResult,
} from '../../../src/repository/search/index.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';
import { day, seed, str, tok, type Row } from './seed.ts';

const model = loadFhirModel();
const BASE = 'http://hie.test/fhir';

/** Birth dates of the originals; several share a day and two have none, to test ties and NULLS LAST. */
const ORIGINALS: [string, string | undefined][] = [
  ['a01', '1990-01-01'],
  ['a02', '1985-03-04'],
  ['a03', '1990-01-01'],
  ['a04', undefined],
  ['a05', '2001-07-07'],
  ['a06', '1985-03-04'],
  ['a07', '1970-12-31'],
  ['a08', undefined],
  ['a09', '1999-09-09'],
  ['a10', '1990-01-01'],
];

/** Sorting, keyset paging, totals and the Bundle's shape. */
describe.each(inject('pgServers'))('search pages on $name', (server) => {
  let t: TestDatabase;
  const run = (params: [string, string][], type = 'Patient') =>
    search(t.db, model, { resourceType: type, params, strict: false, baseUrl: BASE });
  const status = async (p: Promise<unknown>) =>
    p.then(
      () => 200,
      (e) => (e instanceof OperationOutcomeError ? e.status : 500),
    );
  /** Originals carry the tag `urn:test|original`; resources written while paging get their own. */
  const patient = (
    id: string,
    birth: string | undefined,
    extra: Record<string, unknown> = {},
    rows: Row[] = [],
    tag = 'original',
  ) =>
    seed(t.db, { resourceType: 'Patient', id, ...(birth ? { birthDate: birth } : {}), ...extra }, [
      ...(birth ? [day('birthdate', birth)] : []),
      tok('_tag', 'urn:test', tag),
      ...rows,
    ]);
  /** Follows a next link exactly as a client would: its query string becomes the next request. */
  const follow = (result: SearchResult) =>
    run([...new URL(result.nextUrl!).searchParams.entries()] as [string, string][]);

  beforeAll(async () => {
    t = await createTestDatabase(server);
    for (const [id, birth] of ORIGINALS) await patient(id, birth, {}, [str('family', `Fam${id}`)]);
  });
  afterAll(async () => t?.drop());

  it('_sort=-birthdate: latest first, ties by id, missing values last', async () => {
    const r = await run([
      ['_sort', '-birthdate'],
      ['_tag', 'urn:test|original'],
    ]);
    expect(r.matches.map((m) => m.id)).toEqual([
      'a05',
      'a09',
      'a01',
      'a03',
      'a10',
      'a02',
      'a06',
      'a07',
      'a04',
      'a08',
    ]);
    const asc = await run([
      ['_sort', 'birthdate,-_id'],
      ['_tag', 'urn:test|original'],
    ]);
    expect(asc.matches.map((m) => m.id)).toEqual([
      'a07',
      'a06',
      'a02',
      'a10',
      'a03',
      'a01',
      'a09',
      'a05',
      'a08',
      'a04',
    ]);
    const byFamily = await run([
      ['_sort', '-family'],
      ['_count', '2'],
    ]);
    expect(byFamily.matches.map((m) => m.id)).toEqual(['a10', 'a09']);
  });

  it('keyset paging over three pages stays exact while others write', async () => {
    // Page sizes chosen so that page boundaries also fall inside runs of equal and of missing values.
    for (const [sort, count] of [
      ['-birthdate', '4'],
      ['_id', '4'],
      ['birthdate,_lastUpdated', '4'],
      ['birthdate', '3'],
    ] as const) {
      const tag = `new-${sort}`;
      let page = await run([
        ['_tag', `urn:test|original,urn:test|${tag}`],
        ['_sort', sort],
        ['_count', count],
      ]);
      const seen = page.matches.map((m) => m.id);
      let n = 0;
      while (page.nextUrl && n < 10) {
        // New resources that sort before and after the cursor, and on its exact key.
        // They match the search too: a window that shifted would repeat or skip originals.
        await patient(`z${sort.length}${n}a`, '2005-01-01', {}, [], tag);
        await patient(`a00${sort.length}${n}`, '1990-01-01', {}, [], tag);
        await patient(`zz${sort.length}${n}`, undefined, {}, [], tag);
        n++;
        page = await follow(page);
        seen.push(...page.matches.map((m) => m.id));
      }
      expect(page.nextUrl, `${sort}: paging never ends`).toBeUndefined();
      const originals = seen.filter((id) => /^a\d\d$/.test(id));
      expect(n, sort).toBeGreaterThanOrEqual(2); // three pages at least; newcomers after the cursor may add more
      expect(originals.sort(), sort).toEqual(ORIGINALS.map(([id]) => id));
      expect(new Set(seen).size, sort).toBe(seen.length);
    }
  });

  it('a garbled or foreign cursor is a 400', async () => {
    const first = await run([
      ['_sort', '-birthdate'],
      ['_count', '2'],
    ]);
    const cursor = new URL(first.nextUrl!).searchParams.get('_cursor')!;
    expect(
      await status(
        run([
          ['_sort', '-birthdate'],
          ['_cursor', 'xyz'],
        ]),
      ),
    ).toBe(400);
    expect(
      await status(
        run([
          ['_sort', 'birthdate'],
          ['_cursor', cursor],
        ]),
      ),
    ).toBe(400);
    expect(
      await status(
        run([
          ['_sort', '-birthdate'],
          ['_cursor', `${cursor}AA`],
        ]),
      ),
    ).toBe(400);
    expect(
      (
        await run([
          ['_sort', '-birthdate'],
          ['_cursor', cursor],
          ['_count', '2'],
        ])
      ).matches,
    ).toHaveLength(2);
  });

  it('_total, _count=0, _summary=count', async () => {
    const tag: [string, string] = ['_id', ORIGINALS.map(([id]) => id).join(',')];
    expect((await run([tag, ['_count', '50']])).total).toBe(10);
    expect((await run([tag, ['_count', '5']])).total).toBeUndefined();
    expect((await run([tag, ['_count', '5'], ['_total', 'accurate']])).total).toBe(10);
    expect((await run([tag, ['_count', '50'], ['_total', 'none']])).total).toBeUndefined();
    const count = await run([tag, ['_summary', 'count']]);
    expect(count).toMatchObject({ total: 10, matches: [], nextUrl: undefined });
    const bundle = JSON.parse(searchResultToBundle(count, BASE));
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 10 });
    expect(bundle.entry).toBeUndefined();
    expect((await run([tag, ['_count', '0']])).total).toBe(10);
  });

  it('the Bundle serves stored text unparsed, with fullUrl, links and modes', async () => {
    await seed(
      t.db,
      { resourceType: 'Observation', id: 'dec', status: 'final', valueQuantity: { value: 1.5, unit: 'mg' } },
      [tok('status', null, 'final')],
    );
    // jsonb keeps numeric text exactly: make the stored value 1.50 as a sender would have written it.
    await t.db.query(
      `UPDATE resource SET content = jsonb_set(content::jsonb, '{valueQuantity,value}', '1.50'::jsonb)::json WHERE id = 'dec'`,
    );
    const r = await search(t.db, model, {
      resourceType: 'Observation',
      params: [['status', 'final']],
      strict: false,
      baseUrl: BASE,
    });
    const text = searchResultToBundle(r, BASE);
    const { rows } = await t.db.query(`SELECT content::text AS json FROM resource WHERE id = 'dec'`);
    expect(text).toContain(`"resource":${rows[0].json}`);
    expect(text).toContain('1.50');
    const bundle = JSON.parse(text);
    expect(bundle.link).toEqual([{ relation: 'self', url: `${BASE}/Observation?status=final` }]);
    expect(bundle.entry[0]).toMatchObject({ fullUrl: `${BASE}/Observation/dec`, search: { mode: 'match' } });
    const sub = searchResultToBundle(
      await search(t.db, model, {
        resourceType: 'Observation',
        params: [
          ['status', 'final'],
          ['_elements', 'value'],
        ],
        strict: false,
        baseUrl: BASE,
      }),
      BASE,
    );
    expect(sub).toContain('1.50');
    const paged = await run([
      ['_count', '3'],
      ['_sort', '_id'],
    ]);
    const links = JSON.parse(searchResultToBundle(paged, BASE)).link;
    expect(links[1].relation).toBe('next');
    expect(links[1].url).toMatch(new RegExp(`^${BASE}/Patient\\?_count=3&_sort=_id&_cursor=[A-Za-z0-9_-]+$`));
  });

  it('_elements and _summary subset the resource and tag it SUBSETTED', async () => {
    await patient('sub1', '1960-02-02', {
      text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' },
      name: [{ family: 'Subset' }],
      gender: 'male',
      deceasedBoolean: false,
      maritalStatus: { text: 'M' },
      meta: { tag: [{ system: 'urn:test', code: 'original' }] },
    });
    const resourceOf = async (params: [string, string][]) => {
      const bundle = JSON.parse(searchResultToBundle(await run([['_id', 'sub1'], ...params]), BASE));
      return bundle.entry[0].resource;
    };
    const elements = await resourceOf([['_elements', 'name,deceased']]);
    expect(Object.keys(elements).sort()).toEqual(['deceasedBoolean', 'id', 'meta', 'name', 'resourceType']);
    expect(elements.meta.tag).toContainEqual(SUBSETTED);
    expect(elements.meta.tag).toContainEqual({ system: 'urn:test', code: 'original' });
    const summary = await resourceOf([['_summary', 'true']]);
    expect(summary).toHaveProperty('gender');
    expect(summary).not.toHaveProperty('text');
    expect(summary).not.toHaveProperty('maritalStatus');
    const text = await resourceOf([['_summary', 'text']]);
    expect(Object.keys(text).sort()).toEqual(['id', 'meta', 'resourceType', 'text']);
    const data = await resourceOf([['_summary', 'data']]);
    expect(data).toHaveProperty('maritalStatus');
    expect(data).not.toHaveProperty('text');
    expect(data.meta.tag).toContainEqual(SUBSETTED);
    const full = await resourceOf([['_summary', 'false']]);
    expect(full.meta.tag).not.toContainEqual(SUBSETTED);
  });
});
