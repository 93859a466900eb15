import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Database } from '../../../src/db/database.ts';
import { BundleProcessor } from '../../../src/repository/bundle/bundle-processor.ts';
import { loadFhirModel } from '../../../src/repository/fhir-model.ts';
import { FhirRepository } from '../../../src/repository/store/fhir-repository.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

const SYS = 'urn:oid:2.16.156.10011.1.99';
const allow = () => undefined;

const observation = (value: string) => ({
  resourceType: 'Observation',
  status: 'final',
  identifier: [{ system: SYS, value }],
  code: { text: 'glucose' },
});
const create = (value: string) => ({
  fullUrl: `urn:uuid:00000000-0000-4000-8000-${value.padStart(12, '0')}`,
  resource: observation(value),
  request: { method: 'POST', url: 'Observation', ifNoneExist: `identifier=${SYS}|${value}` },
});
const put = (id: string, gender: string) => ({
  resource: { resourceType: 'Patient', id, gender },
  request: { method: 'PUT', url: `Patient/${id}` },
});

/**
 * A transaction's statements, counted on a real connection: the conditional keys of all entries
 * are locked and matched in one statement each, and the resources the PUTs replace are read
 * together — an ORU with nine keys costs a handful of round trips, not two or three per entry.
 */
describe.each(inject('pgServers'))('a transaction on $name', (server) => {
  let t: TestDatabase;
  let repo: FhirRepository;
  let statements: string[];
  let bundles: BundleProcessor;

  beforeAll(async () => {
    t = await createTestDatabase(server);
    statements = [];
    // The real database; each statement a transaction sends is noted on its way.
    const recording = Object.create(t.db) as Database;
    recording.transaction = <T>(fn: (c: pg.PoolClient) => Promise<T>) =>
      t.db.transaction((c) => {
        const query = c.query.bind(c) as (text: string, values?: unknown[]) => Promise<unknown>;
        const wrapped = Object.create(c) as pg.PoolClient;
        (wrapped as unknown as { query: typeof query }).query = (text, values) => {
          statements.push(text);
          return query(text, values);
        };
        return fn(wrapped);
      });
    repo = new FhirRepository(recording, loadFhirModel(), 'http://hie.test/fhir');
    bundles = new BundleProcessor(repo, 100);
  });
  afterAll(async () => t?.drop());

  const run = async (entries: unknown[]) =>
    JSON.parse(
      await bundles.process({ resourceType: 'Bundle', type: 'transaction', entry: entries }, {}, allow),
    );

  it('locks and matches every conditional key in one statement each, answering each entry its own match', async () => {
    const first = await run([create('1'), create('2')]);
    expect(first.entry.map((e: any) => e.response.status)).toEqual(['201 Created', '201 Created']);
    const existing = first.entry.map((e: any) => e.resource.id);
    await run([put('p-known', 'female')]);

    statements.length = 0;
    const second = await run([
      create('1'),
      create('3'),
      create('2'),
      create('4'),
      create('5'),
      put('p-known', 'male'),
      put('p-new', 'other'),
    ]);
    const status = second.entry.map((e: any) => e.response.status);
    expect(status).toEqual([
      '200 OK',
      '201 Created',
      '200 OK',
      '201 Created',
      '201 Created',
      '200 OK',
      '201 Created',
    ]);
    // Matched entries answer with the resource that was there, each its own.
    expect([second.entry[0].resource.id, second.entry[2].resource.id]).toEqual(existing);
    expect(second.entry[5].response.location).toMatch(/Patient\/p-known\/_history\/2$/);
    expect(second.entry[6].response.location).toMatch(/Patient\/p-new\/_history\/1$/);

    const count = (re: RegExp) => statements.filter((s) => re.test(s)).length;
    // One statement locks the conditional keys and the ids the PUTs name, so the PUT targets are
    // read once: the new one needs no second look after a lock of its own.
    expect(count(/pg_advisory_xact_lock/)).toBe(1);
    expect(count(/hashtextextended\(n, s\)/)).toBe(1);
    expect(count(/UNION ALL/)).toBe(1);
    expect(count(/FOR UPDATE/)).toBe(1);
    // Every write of the transaction (three creates, an update, an update-as-create) in one statement.
    expect(count(/INSERT INTO resource_history/)).toBe(1);
  });

  it('writes transactions of different sizes with one statement text per number of updates, so PostgreSQL keeps its plan', async () => {
    await run([put('shape-1', 'female'), put('shape-2', 'female'), put('shape-3', 'female')]);
    const writeOf = async (entries: unknown[]) => {
      statements.length = 0;
      await run(entries);
      return statements.filter((s) => /INSERT INTO resource_history/.test(s));
    };
    // One update (its index rows found by key) with one or three creates…
    const one = await writeOf([put('shape-1', 'male'), create('shape-a')]);
    expect(one).toHaveLength(1);
    expect(
      await writeOf([put('shape-2', 'male'), create('shape-b'), create('shape-c'), create('shape-d')]),
    ).toEqual(one);
    // …and two updates with one or two creates: the creates travel as arrays, whatever their number.
    const two = await writeOf([put('shape-1', 'other'), put('shape-2', 'other'), create('shape-e')]);
    expect(
      await writeOf([put('shape-1', 'female'), put('shape-3', 'male'), create('shape-f'), create('shape-g')]),
    ).toEqual(two);
    // The updated ids are listed, not bound as one array: over an array's unknown length
    // PostgreSQL would plan the statement anew on every run.
    expect(two[0]).toMatch(/resource_id IN \(\$\d+, \$\d+\)/);
    expect(two[0]).not.toMatch(/resource_id = ANY/);
  });

  it('reads what its own writes left: a GET after a PUT of the same transaction sees the new version', async () => {
    await run([put('p-read', 'female')]);
    const out = await run([put('p-read', 'male'), { request: { method: 'GET', url: 'Patient/p-read' } }]);
    expect(out.entry[1].resource).toMatchObject({ gender: 'male', meta: { versionId: '2' } });
  });

  it('a PUT of a new id waits for another transaction creating that id, then writes version 2', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let firstWrote!: () => void;
    const wrote = new Promise<void>((r) => (firstWrote = r));
    const first = t.db.transaction(async (tx) => {
      const r = await repo.update('Patient', 'held-1', { resourceType: 'Patient', id: 'held-1' }, { tx });
      firstWrote();
      await held;
      return r;
    });
    await wrote;
    const second = run([put('held-1', 'male'), create('held')]);
    // The transaction reaches the database while the first still holds its uncommitted row.
    await new Promise((r) => setTimeout(r, 300));
    release();
    const [a, b] = await Promise.all([first, second]);
    expect(a.stored.versionId).toBe(1);
    expect(b.entry[0].response.location).toMatch(/Patient\/held-1\/_history\/2$/);
    expect(JSON.parse((await repo.read('Patient', 'held-1')).json!).gender).toBe('male');
  });

  it('refuses an entry whose key matches two resources, naming the criteria', async () => {
    await repo.create(observation('dup'));
    await repo.create(observation('dup'));
    await expect(run([create('6'), create('dup')])).rejects.toMatchObject({
      status: 412,
      outcome: { issue: [{ code: 'multiple-matches', diagnostics: expect.stringContaining('dup') }] },
    });
    // All or nothing: the first entry's create was rolled back with the transaction.
    expect(await repo.db.query(`SELECT 1 FROM sp_token WHERE value = '6'`)).toMatchObject({ rowCount: 0 });
  });

  it('lets two transactions writing the same new ids in opposite orders both finish: versions 1 and 2', async () => {
    for (let round = 0; round < 5; round++) {
      const a = `race-a-${round}`;
      const b = `race-b-${round}`;
      const results = await Promise.all([
        run([put(a, 'female'), put(b, 'female')]),
        run([put(b, 'male'), put(a, 'male')]),
      ]);
      expect(results.every((r) => r.type === 'transaction-response')).toBe(true);
      for (const id of [a, b]) {
        const { rows } = await t.db.query<{ v: number }>(
          `SELECT version_id AS v FROM resource_history WHERE resource_type = 'Patient' AND id = $1 ORDER BY 1`,
          [id],
        );
        expect(rows.map((r) => r.v)).toEqual([1, 2]);
      }
    }
  });
});
