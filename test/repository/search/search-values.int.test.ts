import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { OperationOutcomeError } from '../../../src/kernel/outcomes.ts';
import { loadFhirModel } from '../../../src/repository/fhir-model.ts';
import { findIds, search, searchResultToBundle } from '../../../src/repository/search/index.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';
import { date, day, markDeleted, num, qty, ref, seed, str, tok, uri, type Row } from './seed.ts';

const model = loadFhirModel();
const BASE = 'http://hie.test/fhir';
const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';
const GOLDEN = 'https://county-hie.org/fhir/CodeSystem/record-kind';
const EVIL = "O'Brien'; DROP TABLE resource; --";

interface P {
  family?: string;
  given?: string;
  text?: string;
  gender?: string;
  birth?: Row;
  active?: boolean;
  mrn?: string;
  extra?: Row[];
}

function patientRows(p: P): Row[] {
  const rows: Row[] = [];
  for (const part of [p.family, p.given, p.text]) if (part) rows.push(str('name', part));
  if (p.family) rows.push(str('family', p.family));
  if (p.given) rows.push(str('given', p.given));
  if (p.gender) rows.push(tok('gender', 'http://hl7.org/fhir/administrative-gender', p.gender));
  if (p.active !== undefined) rows.push(tok('active', null, String(p.active)));
  if (p.mrn) rows.push(tok('identifier', 'urn:mrn', p.mrn));
  if (p.birth) rows.push(p.birth);
  return [...rows, ...(p.extra ?? [])];
}

describe.each(inject('pgServers'))('search values on $name', (server) => {
  let t: TestDatabase;
  const run = (type: string | undefined, params: [string, string][], strict = false) =>
    search(t.db, model, { resourceType: type, params, strict, baseUrl: BASE });
  const ids = async (type: string | undefined, params: [string, string][]) =>
    (await run(type, params)).matches.map((m) => m.id).sort();
  const status = async (p: Promise<unknown>) =>
    p.then(
      () => 200,
      (e) => (e instanceof OperationOutcomeError ? e.status : 500),
    );

  beforeAll(async () => {
    t = await createTestDatabase(server);
    const patients: [string, P, string][] = [
      [
        'p1',
        {
          family: 'Wang',
          given: 'Xiuying',
          text: '王秀英',
          gender: 'female',
          birth: day('birthdate', '1980-05-01'),
          active: true,
          mrn: 'A1',
          extra: [tok('_tag', GOLDEN, 'golden'), uri('_profile', 'http://example.org/StructureDefinition/p')],
        },
        '2024-01-01T10:00:00Z',
      ],
      [
        'p2',
        {
          family: 'Müller',
          given: 'Hans',
          gender: 'male',
          birth: date('birthdate', '1975-01-01T00:00:00Z', '1975-12-31T23:59:59.999Z'),
          active: false,
          mrn: 'A2',
          extra: [
            tok('_security', 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', 'R'),
            uri('_source', 'https://county-hie.org/fhir/institution/x#1'),
          ],
        },
        '2024-06-01T00:00:00Z',
      ],
      ['p3', { family: EVIL, gender: 'other', mrn: '50%_x\\y' }, '2024-06-02T00:00:00Z'],
      ['p4', { family: '100%', text: '李秀' }, '2024-06-03T00:00:00Z'],
      ['p5', { family: 'Wang', gender: 'female' }, '2024-06-04T00:00:00Z'],
    ];
    for (const [id, p, at] of patients) await seed(t.db, { resourceType: 'Patient', id }, patientRows(p), at);
    await markDeleted(t.db, 'Patient', 'p5');

    const obs = (id: string, rows: Row[]) =>
      seed(t.db, { resourceType: 'Observation', id, status: 'final' }, rows);
    await obs('o1', [
      tok('code', LOINC, '8480-6', 'Systolic blood pressure'),
      qty('value-quantity', '120', UCUM, 'mm[Hg]'),
      date('date', '2020-05-01T08:00:00Z', '2020-05-01T09:00:00Z'),
      ref('subject', 'Patient/p1'),
    ]);
    await obs('o2', [
      tok('code', LOINC, '8867-4', 'Heart rate'),
      qty('value-quantity', '5.4', UCUM, '/min'),
      date('date', '2020-05-01T00:00:00Z', '2020-05-31T23:59:59.999Z'),
      ref('subject', 'Patient/p2'),
    ]);
    await obs('o3', [
      tok('code', null, 'local-1'),
      qty('value-quantity', '5.46', UCUM, '/min'),
      date('date', '2021-01-01T00:00:00Z'),
    ]);

    for (const [id, p] of [
      ['ra1', '0.5'],
      ['ra2', '0.55'],
      ['ra3', '100'],
    ] as const) {
      await seed(t.db, { resourceType: 'RiskAssessment', id }, [num('probability', p)]);
    }
    for (const [id, u] of <[string, string][]>[
      ['vs1', 'http://example.org/fhir/ValueSet/a'],
      ['vs2', 'http://example.org/fhir/ValueSet/a/b'],
      ['vs3', 'http://other.org/x'],
    ]) {
      await seed(t.db, { resourceType: 'ValueSet', id }, [uri('url', u)]);
    }
  });
  afterAll(async () => t?.drop());

  it('token: code, system|code, |code, system|, OR, :not, :text, booleans', async () => {
    expect(await ids('Patient', [['gender', 'female']])).toEqual(['p1']);
    expect(await ids('Patient', [['gender', 'female,male']])).toEqual(['p1', 'p2']);
    expect(await ids('Patient', [['identifier', 'urn:mrn|A1']])).toEqual(['p1']);
    expect(await ids('Patient', [['identifier', '|A1']])).toEqual([]);
    expect(await ids('Observation', [['code', '|local-1']])).toEqual(['o3']);
    expect(await ids('Observation', [['code', `${LOINC}|`]])).toEqual(['o1', 'o2']);
    expect(await ids('Patient', [['gender:not', 'male']])).toEqual(['p1', 'p3', 'p4']);
    expect(await ids('Observation', [['code:text', 'systolic']])).toEqual(['o1']);
    expect(await ids('Patient', [['active', 'false']])).toEqual(['p2']);
    expect(await status(run('Patient', [['active', 'maybe']]))).toBe(400);
    expect(await status(run('Patient', [['gender:below', 'x']]))).toBe(400);
  });

  it('repeating a parameter is AND; deleted resources never match', async () => {
    expect(await ids('Patient', [['name', 'wang']])).toEqual(['p1']);
    expect(
      await ids('Patient', [
        ['gender', 'female'],
        ['gender', 'male'],
      ]),
    ).toEqual([]);
    expect(
      await ids('Patient', [
        ['gender', 'female,male'],
        ['_tag', `${GOLDEN}|golden`],
      ]),
    ).toEqual(['p1']);
  });

  it('string: starts-with, accent and case insensitive; :exact; :contains incl. Chinese', async () => {
    expect(await ids('Patient', [['name', 'WAN']])).toEqual(['p1']);
    expect(await ids('Patient', [['family', 'mull']])).toEqual(['p2']);
    expect(await ids('Patient', [['family', 'müll']])).toEqual(['p2']);
    expect(await ids('Patient', [['name', 'ying']])).toEqual([]);
    expect(await ids('Patient', [['name:contains', 'ying']])).toEqual(['p1']);
    expect(await ids('Patient', [['name:exact', 'Wang']])).toEqual(['p1']);
    expect(await ids('Patient', [['name:exact', 'wang']])).toEqual([]);
    expect(await ids('Patient', [['name:contains', '秀']])).toEqual(['p1', 'p4']);
    expect(await ids('Patient', [['name:contains', '秀英']])).toEqual(['p1']);
    expect(await ids('Patient', [['name:contains', '英秀']])).toEqual([]);
    expect(await status(run('Patient', [['name:text', 'x']]))).toBe(400);
  });

  it('injection and wildcard characters are plain values', async () => {
    expect(await ids('Patient', [['family', EVIL]])).toEqual(['p3']);
    expect(await ids('Patient', [['family:exact', EVIL]])).toEqual(['p3']);
    expect(await ids('Patient', [['identifier', 'urn:mrn|50%_x\\y']])).toEqual(['p3']);
    expect(await ids('Patient', [['identifier', 'urn:mrn|50%']])).toEqual([]);
    expect(await ids('Patient', [['family', '%']])).toEqual([]);
    expect(await ids('Patient', [['family', '_']])).toEqual([]);
    expect(await ids('Patient', [['name:contains', '%']])).toEqual(['p4']);
    expect(await ids('Patient', [['name:contains', '\\']])).toEqual([]);
    expect(await ids('Patient', [['_id', "p1' OR '1'='1"]])).toEqual([]);
    const { rows } = await t.db.query(
      "SELECT count(*)::int AS n FROM resource WHERE resource_type = 'Patient'",
    );
    expect(rows[0].n).toBe(5);
  });

  it(':missing', async () => {
    expect(await ids('Patient', [['birthdate:missing', 'true']])).toEqual(['p3', 'p4']);
    expect(await ids('Patient', [['birthdate:missing', 'false']])).toEqual(['p1', 'p2']);
    expect(await ids('Observation', [['subject:missing', 'true']])).toEqual(['o3']);
  });

  it('date on a day, a partial year and a Period, with every prefix', async () => {
    expect(await ids('Patient', [['birthdate', '1980']])).toEqual(['p1']);
    expect(await ids('Patient', [['birthdate', '1975']])).toEqual(['p2']);
    expect(await ids('Patient', [['birthdate', '1975-06']])).toEqual([]);
    expect(await ids('Patient', [['birthdate', 'lt1976']])).toEqual(['p2']);
    expect(await ids('Patient', [['birthdate', 'gt1975-06-01']])).toEqual(['p1', 'p2']);
    expect(await ids('Patient', [['birthdate', 'ge1980-05-01']])).toEqual(['p1']);
    expect(await ids('Patient', [['birthdate', 'le1975-01-01']])).toEqual(['p2']);
    expect(await ids('Observation', [['date', '2020-05-01']])).toEqual(['o1']);
    expect(await ids('Observation', [['date', '2020-05']])).toEqual(['o1', 'o2']);
    expect(await ids('Observation', [['date', 'ne2020-05']])).toEqual(['o3']);
    expect(await ids('Observation', [['date', 'ge2020-05-01T08:30']])).toEqual(['o1', 'o2', 'o3']);
    expect(await ids('Observation', [['date', 'gt2020-05-01T09:00']])).toEqual(['o2', 'o3']);
    expect(await ids('Observation', [['date', 'lt2020-05-01T08:30']])).toEqual(['o1', 'o2']);
    expect(await ids('Observation', [['date', 'le2020-05-01T07:59']])).toEqual(['o2']);
    expect(await ids('Observation', [['date', 'sa2020-04-30']])).toEqual(['o1', 'o2', 'o3']);
    expect(await ids('Observation', [['date', 'sa2020-05-01']])).toEqual(['o3']);
    expect(await ids('Observation', [['date', 'eb2020-05-15']])).toEqual(['o1']);
    expect(await ids('Observation', [['date', '2020-05-01T16:00:00+08:00']])).toEqual([]);
    expect(
      await ids('Observation', [
        ['date', 'ge2020-05-01T16:30:00+08:00'],
        ['date', 'lt2020-05-01T17:30+08:00'],
      ]),
    ).toEqual(['o1', 'o2']);
    expect(await status(run('Observation', [['date', '2020-13']]))).toBe(400);
  });

  it('_id and _lastUpdated on the resource row', async () => {
    expect(await ids('Patient', [['_id', 'p1,p2,p5']])).toEqual(['p1', 'p2']);
    expect(await ids('Patient', [['_lastUpdated', '2024-01-01']])).toEqual(['p1']);
    expect(await ids('Patient', [['_lastUpdated', 'gt2024-03']])).toEqual(['p2', 'p3', 'p4']);
  });

  it('number with implicit precision and prefixes', async () => {
    expect(await ids('RiskAssessment', [['probability', '0.5']])).toEqual(['ra1']);
    expect(await ids('RiskAssessment', [['probability', '0.55']])).toEqual(['ra2']);
    expect(await ids('RiskAssessment', [['probability', 'gt0.5']])).toEqual(['ra2', 'ra3']);
    expect(await ids('RiskAssessment', [['probability', 'le0.55']])).toEqual(['ra1', 'ra2']);
    expect(await ids('RiskAssessment', [['probability', 'ne0.5']])).toEqual(['ra2', 'ra3']);
    expect(await ids('RiskAssessment', [['probability', '1e2']])).toEqual(['ra3']);
    expect(await status(run('RiskAssessment', [['probability', 'sa1']]))).toBe(400);
  });

  it('quantity: value, value|system|code, value||code', async () => {
    expect(await ids('Observation', [['value-quantity', '5.4']])).toEqual(['o2']);
    expect(await ids('Observation', [['value-quantity', '5.4||/min']])).toEqual(['o2']);
    expect(await ids('Observation', [['value-quantity', `120|${UCUM}|mm[Hg]`]])).toEqual(['o1']);
    expect(await ids('Observation', [['value-quantity', '120||kg']])).toEqual([]);
    expect(await ids('Observation', [['value-quantity', 'gt5.4']])).toEqual(['o1', 'o3']);
    expect(await status(run('Observation', [['value-quantity', '5|a']]))).toBe(400);
  });

  it('uri: exact, :below, :above; _tag, _profile, _security, _source', async () => {
    expect(await ids('ValueSet', [['url', 'http://example.org/fhir/ValueSet/a']])).toEqual(['vs1']);
    expect(await ids('ValueSet', [['url:below', 'http://example.org/fhir']])).toEqual(['vs1', 'vs2']);
    expect(await ids('ValueSet', [['url:above', 'http://example.org/fhir/ValueSet/a/b/c']])).toEqual([
      'vs1',
      'vs2',
    ]);
    expect(await ids('Patient', [['_tag', `${GOLDEN}|golden`]])).toEqual(['p1']);
    expect(await ids('Patient', [['_profile', 'http://example.org/StructureDefinition/p']])).toEqual(['p1']);
    expect(await ids('Patient', [['_security', 'R']])).toEqual(['p2']);
    expect(await ids('Patient', [['_source', 'https://county-hie.org/fhir/institution/x#1']])).toEqual([
      'p2',
    ]);
  });

  it('unknown parameters: a warning entry when lenient, 400 when strict', async () => {
    const lenient = await run('Patient', [
      ['foo', '1'],
      ['gender', 'male'],
    ]);
    expect(lenient.matches.map((m) => m.id)).toEqual(['p2']);
    expect(lenient.issues[0]?.diagnostics).toContain("'foo'");
    expect(lenient.selfUrl).toBe(`${BASE}/Patient?gender=male`);
    const bundle = JSON.parse(searchResultToBundle(lenient, BASE));
    const oo = bundle.entry.find((e: { search: { mode: string } }) => e.search.mode === 'outcome');
    expect(oo.resource).toMatchObject({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'warning', code: 'not-supported' }],
    });
    expect(await status(run('Patient', [['foo', '1']], true))).toBe(400);
    expect(await status(run('NoSuchType', []))).toBe(404);
  });

  it('system level: _type and common parameters', async () => {
    expect(await ids(undefined, [['_id', 'p1,o1,ra1']])).toEqual(['o1', 'p1', 'ra1']);
    expect(
      await ids(undefined, [
        ['_type', 'Patient,Observation'],
        ['_id', 'p1,o1,ra1'],
      ]),
    ).toEqual(['o1', 'p1']);
    expect(await status(run(undefined, [['gender', 'male']], true))).toBe(400);
  });

  it('findIds: strict, at most two ids', async () => {
    expect(await findIds(t.db, model, 'Patient', [['identifier', 'urn:mrn|A1']])).toEqual(['p1']);
    expect(await findIds(t.db, model, 'Patient', [['gender', 'female,male,other']])).toHaveLength(2);
    expect(await findIds(t.db, model, 'Patient', [['identifier', 'urn:mrn|nobody']])).toEqual([]);
    expect(await status(findIds(t.db, model, 'Patient', [['foo', 'x']]))).toBe(400);
    expect(await status(findIds(t.db, model, 'Patient', [['_count', '1']]))).toBe(400);
    expect(await status(findIds(t.db, model, 'Patient', []))).toBe(400);
  });
});
