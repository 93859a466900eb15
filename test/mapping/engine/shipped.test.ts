import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Bundle, Condition, Encounter, MedicationRequest, Observation, Patient } from 'fhir/r4';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseFhirJson, stringifyFhirJson } from '../../../src/kernel/fhir-json.ts';
import { DEFAULT_MAPPINGS_DIR, loadMappings, type MappingSet } from '../../../src/mapping/engine/index.ts';
import { MappingError, type MappingContext } from '../../../src/mapping/types.ts';
import { parseCsv } from '../../../src/parse/csv/parse-csv.ts';
import { BASE, INSTITUTION, structuralErrors } from '../hl7v2-files/support.ts';

const SAMPLES = path.join(DEFAULT_MAPPINGS_DIR, 'samples');
const VILLAGE = { ...INSTITUTION, id: 'dongcun-village-clinic', timezone: '+08:00' };
const CTX: MappingContext = { institution: VILLAGE, canonicalBase: BASE, archiveId: 'arch-0001' };
const MRN = `${BASE}/sid/mrn/dongcun-village-clinic`;

let set: MappingSet;
beforeAll(async () => {
  set = await loadMappings();
});

const rows = () =>
  parseCsv(readFileSync(path.join(SAMPLES, 'village-visits.csv')), { charset: 'UTF-8' }).rows;
const byType = <T>(b: Bundle, type: string) =>
  (b.entry ?? []).filter((e) => e.resource?.resourceType === type) as unknown as {
    fullUrl: string;
    resource: T;
    request: { url: string };
  }[];

describe('village-visits (CSV)', () => {
  it('maps a full row: identifiers, references, codes, exact decimals, timezone', () => {
    const msg = set.byId('village-visits')!.map(rows()[0]!, CTX);
    expect(structuralErrors(msg.bundle)).toEqual([]);
    expect(msg.type).toBe('csv:village-visits');
    expect(msg.controlId).toBe('V20261101001');
    expect(msg.eventTime).toBe('2026-11-01T08:30:00+08:00');
    const [p] = byType<Patient>(msg.bundle, 'Patient');
    expect(p!.request.url).toBe(`Patient?identifier=${encodeURIComponent(MRN)}|DC0001`);
    expect(p!.fullUrl).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
    expect(p!.resource.identifier?.[0]).toMatchObject({ system: MRN, value: 'DC0001' });
    expect(p!.resource.identifier?.[1]).toMatchObject({
      system: 'urn:oid:2.16.156.10011.1.3',
      value: '11010519491231002X',
    });
    expect(p!.resource.identifier?.[1]?.extension).toBeUndefined();
    expect(p!.resource.name).toEqual([{ text: '欧阳明' }]);
    expect(p!.resource.gender).toBe('male');
    expect(p!.resource.birthDate).toBe('1956-03-12');
    expect(p!.resource.meta?.source).toBe(`${BASE}/institution/dongcun-village-clinic#arch-0001`);
    expect(p!.resource.meta?.tag).toEqual([
      { system: `${BASE}/CodeSystem/mapping`, code: 'village-visits@1' },
    ]);

    const [enc] = byType<Encounter>(msg.bundle, 'Encounter');
    expect(enc!.request.url).toBe(
      `Encounter?identifier=${encodeURIComponent(`${BASE}/sid/visit/dongcun-village-clinic`)}|V20261101001`,
    );
    expect(enc!.resource.class.code).toBe('AMB');
    expect(enc!.resource.subject?.reference).toBe(p!.fullUrl);
    expect(enc!.resource.serviceProvider?.reference).toBe('Organization/dongcun-village-clinic');
    expect(enc!.resource.period?.start).toBe('2026-11-01T08:30:00+08:00');

    const obs = byType<Observation>(msg.bundle, 'Observation');
    const bp = obs.find((o) => o.resource.code.coding?.[0]?.code === '85354-9')!;
    expect(bp.resource.component?.map((c) => [c.code.coding?.[0]?.code, c.valueQuantity?.code])).toEqual([
      ['8480-6', 'mm[Hg]'],
      ['8462-4', 'mm[Hg]'],
    ]);
    expect(bp.resource.encounter?.reference).toBe(enc!.fullUrl);
    const glu = obs.find((o) => o.resource.code.coding?.[0]?.code === '1558-6')!;
    expect(stringifyFhirJson(glu.resource.valueQuantity)).toBe(
      '{"value":5.60,"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"}',
    );

    const [cond] = byType<Condition>(msg.bundle, 'Condition');
    expect(cond!.resource.code?.coding?.map((c) => `${c.system}|${c.code}`)).toEqual([
      'http://hl7.org/fhir/sid/icd-10|I10',
      `${BASE}/CodeSystem/local/dongcun-village-clinic/diagnosis|GXY`,
    ]);
    const [rx] = byType<MedicationRequest>(msg.bundle, 'MedicationRequest');
    expect(rx!.resource.medicationCodeableConcept?.coding).toEqual([
      {
        system: `${BASE}/CodeSystem/local/dongcun-village-clinic/drug`,
        code: 'YP0123',
        display: '硝苯地平缓释片',
      },
    ]);
    expect(msg.issues).toHaveLength(1);
    expect(msg.issues[0]).toMatchObject({
      severity: 'warning',
      expression: ['line 2, column "处方药品编码"'],
    });
  });

  it('leaves out what the row does not hold; an invalid national ID is kept, tagged unverified', () => {
    const msg = set.byId('village-visits')!.map(rows()[1]!, CTX);
    expect(structuralErrors(msg.bundle)).toEqual([]);
    expect(msg.bundle.entry?.map((e) => e.resource?.resourceType)).toEqual([
      'Patient',
      'Encounter',
      'Observation',
      'Condition',
    ]);
    const [p] = byType<Patient>(msg.bundle, 'Patient');
    expect(p!.resource.telecom).toBeUndefined();
    expect(p!.resource.identifier?.[1]).toMatchObject({
      value: '110105196207080021',
      extension: [{ url: `${BASE}/StructureDefinition/identifier-verification`, valueCode: 'unverified' }],
    });
    expect(msg.issues.map((i) => i.expression?.[0])).toEqual(['line 3, column "身份证号"']);
    const [cond] = byType<Condition>(msg.bundle, 'Condition');
    expect(cond!.resource.code?.coding?.[0]).toMatchObject({
      system: 'http://hl7.org/fhir/sid/icd-10',
      code: 'E11',
    });
  });

  it('keeps an untranslated diagnosis code with its local system and warns', () => {
    const msg = set.byId('village-visits')!.map(rows()[2]!, CTX);
    expect(structuralErrors(msg.bundle)).toEqual([]);
    const [cond] = byType<Condition>(msg.bundle, 'Condition');
    expect(cond!.resource.code).toEqual({
      coding: [
        {
          system: `${BASE}/CodeSystem/local/dongcun-village-clinic/diagnosis`,
          code: 'XYZ99',
          display: '头晕待查',
        },
      ],
      text: '头晕待查',
    });
    expect(msg.issues.some((i) => /XYZ99.*village-diagnosis/.test(i.diagnostics ?? ''))).toBe(true);
  });

  it('a row missing a required cell fails with line and column, never a partial resource', () => {
    const row = rows()[0]!;
    const broken = { ...row, cells: { ...row.cells, 姓名: '  ' } };
    const err = (() => {
      try {
        set.byId('village-visits')!.map(broken, CTX);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(MappingError);
    expect((err as MappingError).problems).toEqual([
      expect.objectContaining({ severity: 'error', expression: 'line 2, column "姓名"' }),
    ]);
    const badDate = { ...row, cells: { ...row.cells, 就诊时间: '2026/13/01 08:30' } };
    expect(() => set.byId('village-visits')!.map(badDate, CTX)).toThrow(/not a real calendar date/);
  });

  it('is deterministic: the same row and archive id give the same Bundle; another archive id the same keys', () => {
    const m = set.byId('village-visits')!;
    const a = m.map(rows()[0]!, CTX);
    const b = m.map(rows()[0]!, CTX);
    expect(stringifyFhirJson(b)).toBe(stringifyFhirJson(a));
    const c = m.map(rows()[0]!, { ...CTX, archiveId: 'arch-0002' });
    expect(c.bundle.entry?.map((e) => e.request?.url)).toEqual(a.bundle.entry?.map((e) => e.request?.url));
    expect(c.bundle.entry?.[0]?.fullUrl).not.toBe(a.bundle.entry?.[0]?.fullUrl);
  });
});

describe('township-his-encounter (JSON)', () => {
  const QT = { ...INSTITUTION, id: 'qiaotou-township-health-centre', timezone: '+0800' };
  const ctx: MappingContext = { institution: QT, canonicalBase: BASE, archiveId: 'arch-9' };
  const sample = () => parseFhirJson(readFileSync(path.join(SAMPLES, 'township-his-encounter.json'), 'utf8'));

  it('maps patient, encounter, a Condition per diagnosis, an Observation per vital, prescriptions, an immunization and a referral', () => {
    const msg = set.byId('township-his-encounter')!.map(sample(), ctx);
    expect(structuralErrors(msg.bundle)).toEqual([]);
    expect(msg.bundle.entry?.map((e) => e.resource?.resourceType)).toEqual([
      'Patient',
      'Encounter',
      'Condition',
      'Condition',
      'Observation',
      'Observation',
      'Observation',
      'Observation',
      'Observation',
      'MedicationRequest',
      'MedicationRequest',
      'Immunization',
      'ServiceRequest',
    ]);
    const [p] = byType<Patient>(msg.bundle, 'Patient');
    const [enc] = byType<Encounter>(msg.bundle, 'Encounter');
    expect(enc!.resource.status).toBe('finished');
    expect(enc!.resource.period).toEqual({
      start: '2026-11-01T09:15:00+08:00',
      end: '2026-11-01T09:40:00+08:00',
    });
    const conds = byType<Condition>(msg.bundle, 'Condition');
    expect(conds.map((c) => c.request.url.split('|')[1])).toEqual([
      'MZ20261101-0007-dx-1',
      'MZ20261101-0007-dx-2',
    ]);
    expect(
      conds.every(
        (c) =>
          c.resource.subject.reference === p!.fullUrl && c.resource.encounter?.reference === enc!.fullUrl,
      ),
    ).toBe(true);
    const obs = byType<Observation>(msg.bundle, 'Observation');
    expect(stringifyFhirJson(obs[0]!.resource.valueQuantity)).toContain('"value":72.50');
    expect(obs[0]!.resource.effectiveDateTime).toBe('2026-11-01T09:20:00+08:00');
    expect(obs[1]!.resource.effectiveDateTime).toBe('2026-11-01T09:15:00+08:00');
    expect(obs[1]!.resource.code.coding?.[0]?.code).toBe('1558-6');
    expect(msg.issues.map((i) => i.expression?.[0])).toEqual(['/vitals/2/unit', '/vitals/3/item']);
  });

  it('a repeat item missing a required value fails at its JSON pointer', () => {
    const input = sample() as { diagnoses: { code?: string }[] };
    delete input.diagnoses[1]!.code;
    expect(() => set.byId('township-his-encounter')!.map(input, ctx)).toThrow(MappingError);
    try {
      set.byId('township-his-encounter')!.map(input, ctx);
    } catch (e) {
      expect((e as MappingError).problems.map((p) => p.expression)).toEqual(['/diagnoses/1/code']);
    }
  });
});

describe('selection', () => {
  it('the shipped default serves every institution; unknown feeds get nothing', () => {
    expect(set.select({ institution: 'any-clinic', format: 'csv', feed: 'village-visits' })?.id).toBe(
      'village-visits',
    );
    expect(set.select({ institution: 'any-clinic', format: 'json', feed: 'village-visits' })).toBeUndefined();
  });
});
