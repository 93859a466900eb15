import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseFhirJson } from '../../../src/kernel/fhir-json.ts';
import { loadFhirModel } from '../../../src/repository/fhir-model.ts';
import { extractIndexRows } from '../../../src/repository/index/extract-index.ts';
import { addIndexSync, statementOf, type StatementParts } from '../../../src/repository/index/write-index.ts';
import { BundleProcessor } from '../../../src/repository/bundle/bundle-processor.ts';
import { FhirRepository } from '../../../src/repository/store/fhir-repository.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

const TABLES = ['sp_token', 'sp_string', 'sp_date', 'sp_reference', 'sp_number', 'sp_quantity', 'sp_uri'];
const MRN = 'https://county-hie.org/fhir/sid/mrn/county-peoples-hospital';

const patient = (id: string, over: Record<string, unknown> = {}) => ({
  resourceType: 'Patient',
  id,
  identifier: [{ system: MRN, value: `MRN-${id}` }],
  name: [{ family: '王', given: ['小明'], text: '王小明' }],
  gender: 'male',
  birthDate: '1950-01-01',
  address: [{ line: ['新华路1号'], city: '湖州市', state: '浙江省', postalCode: '313100' }],
  telecom: [{ system: 'phone', value: '13900000001' }],
  ...over,
});
/** The patient without the named elements. */
const without = (p: Record<string, unknown>, ...keys: string[]) =>
  Object.fromEntries(Object.entries(p).filter(([k]) => !keys.includes(k)));

/**
 * An update rewrites only the index rows that changed: a row both versions have stays where it is
 * (same physical tuple), and the index ends exactly as a fresh write of the same content leaves it.
 */
describe.each(inject('pgServers'))('index rows on update, on $name', (server) => {
  let t: TestDatabase;
  let repo: FhirRepository;
  beforeAll(async () => {
    t = await createTestDatabase(server);
    repo = new FhirRepository(t.db, loadFhirModel(), 'http://hie.test/fhir');
  });
  afterAll(async () => t?.drop());

  /** Every index row of a resource (without its id), with its tuple address, sorted. */
  const rowsOf = async (type: string, id: string) => {
    const out: { table: string; ctid: string; row: string }[] = [];
    for (const table of TABLES) {
      const r = await t.db.query<{ ctid: string; row: string }>(
        `SELECT ctid::text AS ctid, (to_jsonb(x) - 'resource_id')::text AS row FROM ${table} x
          WHERE resource_type = $1 AND resource_id = $2`,
        [type, id],
      );
      for (const x of r.rows) out.push({ table, ...x });
    }
    return out.sort((a, b) => `${a.table}${a.row}`.localeCompare(`${b.table}${b.row}`));
  };
  const contentOf = (rows: { table: string; row: string }[]) => rows.map((r) => `${r.table} ${r.row}`);

  it('leaves unchanged rows in place and replaces only the changed ones', async () => {
    await repo.update('Patient', 'sync-1', patient('sync-1'));
    const before = await rowsOf('Patient', 'sync-1');
    expect(before.filter((r) => r.table === 'sp_string').length).toBeGreaterThan(5);

    await repo.update('Patient', 'sync-1', patient('sync-1', { gender: 'female' }));
    const after = await rowsOf('Patient', 'sync-1');
    const moved = after.filter((r) => !before.some((b) => b.table === r.table && b.ctid === r.ctid));
    // Only the gender token is new; every other row is the same tuple as before.
    expect(moved.map((r) => JSON.parse(r.row).code)).toEqual(['gender']);
    expect(JSON.parse(moved[0]!.row).value).toBe('female');
    expect(after.length).toBe(before.length);
    expect(after.some((r) => r.row.includes('"male"'))).toBe(false);
  });

  it('ends with the rows a fresh write of the same content has, through a run of updates', async () => {
    const versions = [
      patient('sync-2'),
      without(patient('sync-2', { name: [{ family: '李', given: ['娜'] }] }), 'telecom'),
      without(patient('sync-2'), 'address', 'name'),
      patient('sync-2', {
        name: [
          { family: '李', given: ['娜'] },
          { family: '李', given: ['娜'] },
        ],
        link: [{ other: { reference: 'Patient/fresh-0' }, type: 'refer' }],
      }),
      without(patient('sync-2'), 'identifier'),
    ];
    for (const [n, v] of versions.entries()) {
      await repo.update('Patient', 'sync-2', v);
      await repo.update('Patient', `fresh-${n}`, { ...v, id: `fresh-${n}` });
      expect(contentOf(await rowsOf('Patient', 'sync-2'))).toEqual(
        contentOf(await rowsOf('Patient', `fresh-${n}`)).map((r) =>
          r.replace(`MRN-fresh-${n}`, 'MRN-sync-2'),
        ),
      );
    }
  });

  it('corrects rows the stored index has but the new version does not (an older release wrote them)', async () => {
    await repo.update('Patient', 'sync-3', patient('sync-3'));
    await t.db.query(
      `INSERT INTO sp_token (resource_type, resource_id, code, system, value, text)
       VALUES ('Patient', 'sync-3', 'identifier', 'urn:stale', 'left-over', NULL)`,
    );
    await repo.update('Patient', 'sync-3', patient('sync-3', { gender: 'other' }));
    const rows = await rowsOf('Patient', 'sync-3');
    expect(rows.some((r) => r.row.includes('left-over'))).toBe(false);
    await repo.update('Patient', 'fresh-3', patient('fresh-3', { gender: 'other' }));
    expect(contentOf(rows)).toEqual(
      contentOf(await rowsOf('Patient', 'fresh-3')).map((r) => r.replace('MRN-fresh-3', 'MRN-sync-3')),
    );
  });

  it('treats a decimal written with another precision as a changed row', async () => {
    const obs = (value: string) =>
      parseFhirJson(
        `{"resourceType":"Observation","id":"sync-obs","status":"final","code":{"text":"glucose"},
          "valueQuantity":{"value":${value},"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"}}`,
      ) as Record<string, unknown>;
    const values = async () =>
      (
        await t.db.query<{ value: string }>(
          `SELECT value::text AS value FROM sp_quantity WHERE resource_type = 'Observation' AND resource_id = 'sync-obs'`,
        )
      ).rows.map((x) => x.value);
    await repo.update('Observation', 'sync-obs', obs('5.4'));
    const first = await values();
    expect(first.length).toBeGreaterThan(0);
    expect(new Set(first)).toEqual(new Set(['5.4']));
    await repo.update('Observation', 'sync-obs', obs('5.40'));
    const second = await values();
    expect(second.length).toBe(first.length);
    expect(new Set(second)).toEqual(new Set(['5.40']));
  });

  it('updates resources of several types in one transaction, each touching only its own changed rows', async () => {
    const obs = (id: string, status: string) => ({
      resourceType: 'Observation',
      id,
      status,
      code: { text: 'glucose' },
      subject: { reference: 'Patient/multi-1' },
    });
    const put = (resource: { resourceType: string; id: string }) => ({
      resource,
      request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` },
    });
    const bundles = new BundleProcessor(repo, 100);
    const transaction = (entries: unknown[]) =>
      bundles.process({ resourceType: 'Bundle', type: 'transaction', entry: entries }, {}, () => undefined);
    await transaction([put(patient('multi-1')), put(obs('multi-obs', 'preliminary'))]);
    const before = [...(await rowsOf('Patient', 'multi-1')), ...(await rowsOf('Observation', 'multi-obs'))];
    await transaction([put(patient('multi-1', { gender: 'female' })), put(obs('multi-obs', 'final'))]);
    const patientRows = await rowsOf('Patient', 'multi-1');
    const obsRows = await rowsOf('Observation', 'multi-obs');
    const moved = [...patientRows, ...obsRows].filter(
      (r) => !before.some((b) => b.table === r.table && b.ctid === r.ctid),
    );
    expect(moved.map((r) => JSON.parse(r.row).code).sort()).toEqual(['gender', 'status']);
    await repo.update('Patient', 'fresh-m', patient('fresh-m', { gender: 'female' }));
    await repo.update('Observation', 'fresh-mo', obs('fresh-mo', 'final'));
    expect(contentOf(patientRows)).toEqual(
      contentOf(await rowsOf('Patient', 'fresh-m')).map((r) => r.replace('MRN-fresh-m', 'MRN-multi-1')),
    );
    expect(contentOf(obsRows)).toEqual(contentOf(await rowsOf('Observation', 'fresh-mo')));
  });

  it('drops every row of a table the new version has nothing for', async () => {
    await repo.update('Patient', 'sync-4', patient('sync-4'));
    await repo.update('Patient', 'sync-4', { resourceType: 'Patient', id: 'sync-4' });
    const rows = await rowsOf('Patient', 'sync-4');
    expect(
      rows.filter((r) => r.table !== 'sp_uri' && r.table !== 'sp_date' && r.table !== 'sp_token'),
    ).toEqual([]);
    await repo.update('Patient', 'fresh-4', { resourceType: 'Patient', id: 'fresh-4' });
    expect(contentOf(rows)).toEqual(contentOf(await rowsOf('Patient', 'fresh-4')));
  });

  it('finds the stored rows through the resource index in the plan PostgreSQL may keep', async () => {
    // Enough residents that sp_string and sp_token span many pages: a kept plan that scans them
    // whole (as an anti-join against the table was planned) would slow every update as they grow.
    for (let n = 0; n < 150; n++) await repo.update('Patient', `plan-${n}`, patient(`plan-${n}`));
    await t.db.query('ANALYZE');
    const model = loadFhirModel();
    const parts: StatementParts = { ctes: [], params: [] };
    const next = patient('plan-7', { gender: 'female' });
    addIndexSync(parts, [
      { resourceType: 'Patient', id: 'plan-7', rows: extractIndexRows(model, next, 'http://hie.test/fhir') },
    ]);
    const client = await t.db.pool.connect();
    try {
      await client.query('SET plan_cache_mode = force_generic_plan');
      await client.query(`PREPARE sync_plan_probe AS ${statementOf(parts)}`);
      const literals = parts.params
        .map((v) =>
          client.escapeLiteral(
            Array.isArray(v) ? `{${v.map((x) => JSON.stringify(x ?? null)).join(',')}}` : String(v),
          ),
        )
        .map((l) => l.replace(/"null"/g, 'NULL'))
        .join(', ');
      const { rows } = await client.query(`EXPLAIN EXECUTE sync_plan_probe(${literals})`);
      const plan = rows.map((row) => row['QUERY PLAN']).join('\n');
      expect(plan).toMatch(/sp_string_resource/);
      expect(plan).not.toMatch(/Seq Scan on sp_(string|token)/);
    } finally {
      await client.query('DEALLOCATE ALL');
      await client.query('RESET plan_cache_mode');
      client.release();
    }
  });
});
