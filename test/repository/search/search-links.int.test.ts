import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { OperationOutcomeError } from '../../../src/kernel/outcomes.ts';
import { loadFhirModel } from '../../../src/repository/fhir-model.ts';
import { search, searchResultToBundle, type VisibleIf } from '../../../src/repository/search/index.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';
import { markDeleted, ref, refUrl, seed, str, tok, type Row } from './seed.ts';

const model = loadFhirModel();
const BASE = 'http://hie.test/fhir';
const LOINC = 'http://loinc.org';

/** References, chains, `_has`, `_include`/`_revinclude` and the visibility hook. */
describe('search across references', () => {
  const server = inject('pgServers')[0]!;
  let t: TestDatabase;
  const run = (type: string, params: [string, string][], visibleIf?: VisibleIf) =>
    search(t.db, model, {
      resourceType: type,
      params,
      strict: true,
      baseUrl: BASE,
      ...(visibleIf ? { visibleIf } : {}),
    });
  const ids = async (type: string, params: [string, string][]) =>
    (await run(type, params)).matches.map((m) => m.id).sort();
  const status = async (p: Promise<unknown>) =>
    p.then(
      () => 200,
      (e) => (e instanceof OperationOutcomeError ? e.status : 500),
    );

  beforeAll(async () => {
    t = await createTestDatabase(server);
    await seed(t.db, { resourceType: 'Organization', id: 'org1' }, [str('name', 'County Hospital')]);
    await seed(t.db, { resourceType: 'Practitioner', id: 'dr1' }, [str('name', 'Zhang')]);
    const patient = (id: string, name: string, mrn: string, extra: Row[] = []) =>
      seed(t.db, { resourceType: 'Patient', id }, [
        str('name', name),
        tok('identifier', 'urn:mrn', mrn),
        ref('organization', 'Organization/org1'),
        ...extra,
      ]);
    await patient('pa', 'Wang', 'A1', [ref('general-practitioner', 'Practitioner/dr1')]);
    await patient('pb', 'Li', 'B1', [ref('link', 'Patient/pa')]);
    await patient('pd', 'Dead', 'D1');
    await seed(t.db, { resourceType: 'Group', id: 'g1' });
    const obs = (id: string, code: string, subject: Row[], extra: Row[] = []) =>
      seed(t.db, { resourceType: 'Observation', id }, [tok('code', LOINC, code), ...subject, ...extra]);
    const about = (p: string) => [ref('subject', `Patient/${p}`), ref('patient', `Patient/${p}`)];
    await obs('oa1', '8480-6', about('pa'), [ref('performer', 'Practitioner/dr1')]);
    await obs('oa2', '8867-4', about('pa'));
    await obs('ob1', '8480-6', about('pb'));
    await obs('od', '8480-6', about('pd'));
    await obs('og', '8480-6', [ref('subject', 'Group/g1')]);
    await obs('ox', '8480-6', [refUrl('subject', 'http://other.org/fhir/Patient/9')]);
    await obs('oid', '8480-6', [tok('subject:identifier', 'urn:mrn', 'Z9')]);
    await markDeleted(t.db, 'Patient', 'pd');
  });
  afterAll(async () => t?.drop());

  it('reference values: Type/id, bare id, local absolute URL, foreign URL, :Type, :identifier', async () => {
    expect(await ids('Observation', [['subject', 'Patient/pa']])).toEqual(['oa1', 'oa2']);
    expect(await ids('Observation', [['subject', 'pa']])).toEqual(['oa1', 'oa2']);
    expect(await ids('Observation', [['subject', `${BASE}/Patient/pa`]])).toEqual(['oa1', 'oa2']);
    expect(await ids('Observation', [['subject:Patient', 'pa']])).toEqual(['oa1', 'oa2']);
    expect(await ids('Observation', [['subject', 'g1']])).toEqual(['og']);
    expect(await ids('Observation', [['subject', 'Patient/g1']])).toEqual([]);
    expect(await ids('Observation', [['subject', 'http://other.org/fhir/Patient/9']])).toEqual(['ox']);
    expect(await ids('Observation', [['subject:identifier', 'urn:mrn|Z9']])).toEqual(['oid']);
    expect(await ids('Observation', [['subject', 'Patient/pa,Patient/pb']])).toEqual(['oa1', 'oa2', 'ob1']);
    expect(await status(run('Observation', [['subject:Organization', 'org1']]))).toBe(400);
  });

  it('chained search, one and two levels; deleted targets do not match', async () => {
    expect(await ids('Observation', [['patient.name', 'wang']])).toEqual(['oa1', 'oa2']);
    expect(await ids('Observation', [['subject:Patient.identifier', 'urn:mrn|B1']])).toEqual(['ob1']);
    expect(await ids('Observation', [['subject:Patient.organization.name', 'county']])).toEqual([
      'oa1',
      'oa2',
      'ob1',
    ]);
    expect(await ids('Observation', [['patient.name', 'dead']])).toEqual([]);
    expect(await status(run('Observation', [['subject.name', 'wang']]))).toBe(400);
    expect(await status(run('Observation', [['patient.organization.partof.name', 'x']]))).toBe(400);
  });

  it('_has, also with a chain inside', async () => {
    expect(await ids('Patient', [['_has:Observation:patient:code', '8480-6']])).toEqual(['pa', 'pb']);
    expect(await ids('Patient', [['_has:Observation:patient:code', '8867-4']])).toEqual(['pa']);
    expect(await ids('Patient', [['_has:Observation:patient:performer:Practitioner.name', 'zhang']])).toEqual(
      ['pa'],
    );
    expect(await ids('Patient', [['_has:Observation:patient:code', 'nothing']])).toEqual([]);
    expect(await status(run('Patient', [['_has:Observation:patient:nonsense', 'x']]))).toBe(400);
  });

  it('_include and _revinclude: deduplicated, never repeating matches, never deleted', async () => {
    const inc = await run('Observation', [
      ['code', '8480-6'],
      ['patient', 'pa,pb'],
      ['_include', 'Observation:patient'],
    ]);
    expect(inc.matches.map((m) => m.id).sort()).toEqual(['oa1', 'ob1']);
    expect(inc.includes.map((m) => `${m.resourceType}/${m.id}`)).toEqual(['Patient/pa', 'Patient/pb']);
    const once = await run('Observation', [
      ['_id', 'oa1,oa2'],
      ['_include', 'Observation:patient'],
      ['_include', 'Observation:performer:Practitioner'],
    ]);
    expect(once.includes.map((m) => m.id)).toEqual(['pa', 'dr1']);
    const rev = await run('Patient', [
      ['_id', 'pa'],
      ['_revinclude', 'Observation:patient'],
    ]);
    expect(rev.includes.map((m) => m.id)).toEqual(['oa1', 'oa2']);
    const self = await run('Patient', [
      ['_id', 'pa,pb'],
      ['_include', 'Patient:link'],
    ]);
    expect(self.includes).toEqual([]);
    const deleted = await run('Observation', [
      ['_id', 'od'],
      ['_include', 'Observation:patient'],
    ]);
    expect(deleted.includes).toEqual([]);
    const bundle = JSON.parse(searchResultToBundle(rev, BASE));
    expect(
      bundle.entry.map((e: { fullUrl: string; search: { mode: string } }) => [e.fullUrl, e.search.mode]),
    ).toEqual([
      [`${BASE}/Patient/pa`, 'match'],
      [`${BASE}/Observation/oa1`, 'include'],
      [`${BASE}/Observation/oa2`, 'include'],
    ]);
  });

  it('the visibility hook hides resources from matches, total, chains and includes', async () => {
    const hidePb: VisibleIf = (alias, bind) => `${alias}.id <> ${bind('pb')}`;
    const patients = await run(
      'Patient',
      [
        ['organization', 'org1'],
        ['_total', 'accurate'],
      ],
      hidePb,
    );
    expect(patients.matches.map((m) => m.id)).toEqual(['pa']);
    expect(patients.total).toBe(1);
    const chained = await run('Observation', [['subject:Patient.identifier', 'urn:mrn|B1']], hidePb);
    expect(chained.matches).toEqual([]);
    const rev = await run(
      'Observation',
      [
        ['code', '8480-6'],
        ['patient', 'pa,pb'],
        ['_include', 'Observation:patient'],
      ],
      hidePb,
    );
    expect(rev.includes.map((m) => m.id)).toEqual(['pa']);
    const hideOb1: VisibleIf = (alias, bind) => `${alias}.id <> ${bind('ob1')}`;
    const has = await run('Patient', [['_has:Observation:patient:code', '8480-6']], hideOb1);
    expect(has.matches.map((m) => m.id)).toEqual(['pa']);
  });
});
