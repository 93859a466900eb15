import type { Patient } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { bulkLoadIdentity, matchHashOf, type BulkRecord } from '../../../src/identity/bulk/bulk-load.ts';
import { resolveOne } from '../../../src/identity/bulk/resolve-one.ts';
import { demographicsOf } from '../../../src/identity/golden/golden-patient.ts';
import { blockingKeys } from '../../../src/identity/match/blocking.ts';
import { matchRecordOf } from '../../../src/identity/match/record.ts';
import { loadMatchRules } from '../../../src/identity/match/rules.ts';
import { NATIONAL_ID_SYSTEM, nationalIdCheckChar } from '../../../src/identity/national-id.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

const BASE = 'https://county-hie.org/fhir';
const rules = loadMatchRules();

/** A valid 18-digit ID for a birth date (YYYY-MM-DD) and a 3-digit sequence (odd: male). */
const nid = (birth: string, seq: number) => {
  const first17 = `331124${birth.replace(/-/g, '')}${String(seq).padStart(3, '0')}`;
  return first17 + nationalIdCheckChar(first17);
};

const SURNAMES = ['王', '李', '张', '刘', '陈', '杨', '黄', '赵', '吴', '周'];
const GIVEN = ['伟', '芳', '娜', '敏', '静', '丽', '强', '磊', '军', '洋', '勇', '艳', '杰', '娟', '涛'];

/** The n-th made-up resident's Patient at an institution (distinct names, dates and IDs). */
function patient(n: number, institution: string, overrides: Partial<Patient> = {}): Patient {
  const birth = `19${50 + (n % 45)}-0${1 + (n % 9)}-${String(10 + (n % 18)).padStart(2, '0')}`;
  const male = n % 2 === 1;
  const seq = 100 + (n % 400) * 2 + (male ? 1 : 0);
  return {
    resourceType: 'Patient',
    id: `${institution}.${n}`,
    identifier: [{ system: NATIONAL_ID_SYSTEM, value: nid(birth, seq) }],
    name: [{ text: SURNAMES[n % 10]! + GIVEN[Math.floor(n / 10) % 15]! + GIVEN[Math.floor(n / 150) % 15]! }],
    gender: male ? 'male' : 'female',
    birthDate: birth,
    telecom: [{ system: 'phone', value: `138${String(n).padStart(8, '0')}` }],
    address: [{ text: `浙江省青山县桥头镇东村${n}号` }],
    ...overrides,
  };
}

function bulk(p: Patient, personId: string, institution = 'county-peoples-hospital'): BulkRecord {
  return {
    record: matchRecordOf(p, { base: BASE, institution }),
    personId,
    demographics: demographicsOf(p),
    institution,
    tier: 'county-hospital',
  };
}

const count = async (t: TestDatabase, sql: string, params: unknown[] = []) =>
  Number((await t.db.query<{ n: string }>(sql, params)).rows[0]!.n);

describe.each(inject('pgServers'))('identity bulk loader on $name', (server) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(server);
  });
  afterAll(async () => t?.drop());

  it('writes records, persons and exactly the blocking keys the matcher would, batch by batch', async () => {
    // 25 records of 20 persons: persons 0–4 have a second record at the township centre.
    const rows = [
      ...Array.from({ length: 20 }, (_, n) => bulk(patient(n, 'cph'), `person-a${n}`)),
      ...Array.from({ length: 5 }, (_, n) => bulk(patient(n, 'qthc'), `person-a${n}`, 'qiaotou-thc')),
    ];
    const batches: number[] = [];
    const result = await bulkLoadIdentity(t.db, rows, {
      rules,
      batchSize: 7,
      loadedAt: '2026-11-01T00:00:00Z',
      onBatch: (n) => batches.push(n),
    });
    const expectedKeys = rows.reduce((s, r) => s + blockingKeys(r.record, rules).length, 0);
    expect(result).toEqual({ records: 25, inserted: 25, blocks: expectedKeys, persons: 20 });
    expect(batches).toEqual([7, 14, 21, 25]);
    expect(await count(t, `SELECT count(*) n FROM identity_record WHERE patient_ref LIKE 'Patient/%'`)).toBe(
      25,
    );
    expect(await count(t, `SELECT count(*) n FROM identity_person WHERE id LIKE 'person-a%'`)).toBe(20);
    expect(await count(t, `SELECT count(*) n FROM identity_block`)).toBe(expectedKeys);

    const one = rows[21]!; // person-a1 at the township centre
    const { rows: stored } = await t.db.query(
      `SELECT person_id, state, match, match_hash, demographics, institution, tier, source_updated, active
         FROM identity_record WHERE patient_ref = $1`,
      [one.record.ref],
    );
    expect(stored[0]).toMatchObject({
      person_id: 'person-a1',
      state: 'linked',
      match: one.record,
      match_hash: matchHashOf(one.record, one.demographics),
      demographics: one.demographics,
      institution: 'qiaotou-thc',
      active: true,
    });
    expect((stored[0]!.source_updated as Date).toISOString()).toBe('2026-11-01T00:00:00.000Z');
    const { rows: keys } = await t.db.query<{ key: string }>(
      `SELECT key FROM identity_block WHERE patient_ref = $1 ORDER BY key`,
      [one.record.ref],
    );
    expect(keys.map((k) => k.key)).toEqual(blockingKeys(one.record, rules));
  });

  it('is idempotent: a re-run inserts nothing and never moves a record to another person', async () => {
    const again = Array.from({ length: 20 }, (_, n) => bulk(patient(n, 'cph'), `someone-else-${n}`));
    const before = await count(t, `SELECT count(*) n FROM identity_block`);
    const result = await bulkLoadIdentity(t.db, again, { rules, batchSize: 6, concurrency: 2 });
    expect(result.inserted).toBe(0);
    expect(result.blocks).toBe(0);
    expect(await count(t, `SELECT count(*) n FROM identity_block`)).toBe(before);
    expect(
      await count(t, `SELECT count(*) n FROM identity_record WHERE person_id LIKE 'someone-else-%'`),
    ).toBe(0);
  });

  it('loads with several batches in flight, persons shared across batches, from an async stream', async () => {
    // 300 records of 100 persons, each person's 3 records in different batches, in reverse order
    // half the time: concurrent batches insert the same persons.
    async function* stream(): AsyncGenerator<BulkRecord> {
      for (let k = 0; k < 3; k++) {
        for (let i = 0; i < 100; i++) {
          const n = 1000 + (k === 1 ? 99 - i : i);
          yield bulk(patient(n, `inst${k}`), `person-b${n}`, `inst${k}`);
        }
      }
    }
    const result = await bulkLoadIdentity(t.db, stream(), { rules, batchSize: 40, concurrency: 3 });
    expect(result).toMatchObject({ records: 300, inserted: 300, persons: 100 });
    expect(await count(t, `SELECT count(*) n FROM identity_person WHERE id LIKE 'person-b%'`)).toBe(100);
    expect(
      await count(
        t,
        `SELECT count(*) n FROM (SELECT person_id FROM identity_record WHERE person_id LIKE 'person-b%'
           GROUP BY person_id HAVING count(*) = 3) s`,
      ),
    ).toBe(100);
  });

  it('stops at a bad batch: the batches before it stay, nothing of it is written', async () => {
    const good = Array.from({ length: 4 }, (_, n) => bulk(patient(2000 + n, 'cph'), `person-c${n}`));
    const dup = bulk(patient(2100, 'cph'), 'person-c-dup');
    await expect(bulkLoadIdentity(t.db, [...good, dup, dup], { rules, batchSize: 4 })).rejects.toThrow(
      /same record twice/,
    );
    expect(await count(t, `SELECT count(*) n FROM identity_record WHERE person_id LIKE 'person-c%'`)).toBe(4);
    await expect(bulkLoadIdentity(t.db, [], { rules, batchSize: 0 })).rejects.toThrow(/batchSize/);
  });

  it('seeds a store the matcher then links against, writing its record, keys and decision', async () => {
    await bulkLoadIdentity(t.db, [bulk(patient(3000, 'cph'), 'person-d')], { rules });
    // The same resident at a village clinic, without a phone: the verified ID decides.
    const p = patient(3000, 'dcvc', { telecom: [] });
    const record = matchRecordOf(p, { base: BASE, institution: 'dcvc' });
    const out = await resolveOne(t.db, rules, {
      record,
      demographics: demographicsOf(p),
      institution: 'dcvc',
    });
    expect(out).toMatchObject({ personId: 'person-d', state: 'linked' });
    expect(out.resolution).toMatchObject({ outcome: 'link', candidateRef: 'Patient/cph.3000' });
    expect(out.resolution.decision?.rule).toBe('national-id');
    const { rows: decisions } = await t.db.query(
      `SELECT person_id, outcome, rule, candidate_ref, rules_version FROM identity_decision WHERE patient_ref = $1`,
      [record.ref],
    );
    expect(decisions).toEqual([
      {
        person_id: 'person-d',
        outcome: 'link',
        rule: 'national-id',
        candidate_ref: 'Patient/cph.3000',
        rules_version: rules.version,
      },
    ]);
    expect(await count(t, `SELECT count(*) n FROM identity_block WHERE patient_ref = $1`, [record.ref])).toBe(
      blockingKeys(record, rules).length,
    );
    // A record the store already holds is the linker's to re-match, not resolveOne's.
    await expect(resolveOne(t.db, rules, { record, demographics: demographicsOf(p) })).rejects.toThrow(
      /already in the identity store/,
    );
  });

  it('opens a review (a provisional person of its own) when the ID disagrees with the birth date', async () => {
    await bulkLoadIdentity(t.db, [bulk(patient(4000, 'cph'), 'person-e')], { rules });
    const truth = patient(4000, 'x');
    const p = patient(4000, 'mch', { birthDate: '1931-12-31' }); // a relative's birth date under the ID
    const record = matchRecordOf(p, { base: BASE, institution: 'mch' });
    expect(record.nationalId?.value).toBe(truth.identifier![0]!.value);
    const out = await resolveOne(
      t.db,
      rules,
      { record, demographics: demographicsOf(p) },
      { newPersonId: () => 'person-e-provisional' },
    );
    expect(out).toMatchObject({ personId: 'person-e-provisional', state: 'provisional' });
    expect(out.resolution.outcome).toBe('review');
    const { rows: reviews } = await t.db.query(
      `SELECT right_ref, rule, state FROM identity_review WHERE left_ref = $1`,
      [record.ref],
    );
    expect(reviews).toEqual([
      { right_ref: 'Patient/cph.4000', rule: 'national-id-demographics', state: 'open' },
    ]);

    // Another resident (sharing blocking keys with some, but not the ID) is a person of their own.
    const stranger = patient(4999, 'mch');
    const alone = await resolveOne(
      t.db,
      rules,
      { record: matchRecordOf(stranger, { base: BASE }), demographics: demographicsOf(stranger) },
      { newPersonId: () => 'person-f' },
    );
    expect(alone).toMatchObject({ personId: 'person-f', state: 'linked' });
    expect(alone.resolution.outcome).toBe('new');
  });
});
