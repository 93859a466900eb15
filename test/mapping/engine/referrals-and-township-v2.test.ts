import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Bundle } from 'fhir/r4';
import { beforeAll, describe, expect, it } from 'vitest';
import { mappingCommand } from '../../../src/cli/mapping-command.ts';
import { parseFhirJson } from '../../../src/kernel/fhir-json.ts';
import { DEFAULT_MAPPINGS_DIR, loadMappings, type MappingSet } from '../../../src/mapping/engine/index.ts';
import { MappingError, type MappingContext } from '../../../src/mapping/types.ts';
import { parseCsv } from '../../../src/parse/csv/parse-csv.ts';
import { BASE, INSTITUTION, structuralErrors } from '../hl7v2-files/support.ts';

const SAMPLES = path.join(DEFAULT_MAPPINGS_DIR, 'samples');
const VILLAGE = 'dongcun-village-clinic';
const TOWNSHIP = 'qiaotou-township-health-centre';
const ctx = (id: string): MappingContext => ({
  institution: { ...INSTITUTION, id },
  canonicalBase: BASE,
  archiveId: 'arch-0042',
});
const types = (b: Bundle) => (b.entry ?? []).map((e) => e.resource?.resourceType);
const all = (b: Bundle, type: string): any[] =>
  (b.entry ?? []).filter((e) => e.resource?.resourceType === type).map((e) => e.resource);
const failure = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    if (e instanceof MappingError) return e.problems.map((p) => `${p.expression}: ${p.text}`).join('\n');
    throw e;
  }
  return 'no error';
};

let set: MappingSet;
beforeAll(async () => {
  set = await loadMappings();
});

describe('village-referrals (CSV)', () => {
  const rows = () =>
    parseCsv(readFileSync(path.join(SAMPLES, 'village-referrals.csv')), { charset: 'UTF-8' }).rows;
  const map = (row: ReturnType<typeof rows>[number]) => set.byId('village-referrals')!.map(row, ctx(VILLAGE));

  it('maps an upward referral to a referral ServiceRequest for the receiving institution', () => {
    const msg = map(rows()[0]!);
    expect(structuralErrors(msg.bundle)).toEqual([]);
    expect(msg.issues).toEqual([]);
    expect(msg.type).toBe('csv:village-referrals');
    expect(msg.controlId).toBe('ZZ20261105001');
    expect(msg.eventTime).toBe('2026-11-05T09:10:00+08:00');
    expect(types(msg.bundle)).toEqual(['Patient', 'ServiceRequest']);
    const [sr] = all(msg.bundle, 'ServiceRequest');
    expect(msg.bundle.entry![1]!.request!.url).toBe(
      `ServiceRequest?identifier=${encodeURIComponent(`${BASE}/sid/source-id/${VILLAGE}`)}|referral-ZZ20261105001`,
    );
    expect(sr).toMatchObject({
      status: 'active',
      intent: 'order',
      category: [{ coding: [{ system: 'http://snomed.info/sct', code: '3457005' }] }],
      subject: { reference: msg.bundle.entry![0]!.fullUrl },
      requester: {
        reference: `Practitioner?identifier=${BASE}/sid/source-id/${VILLAGE}|doctor-C01`,
        display: '周福根',
      },
      performer: [{ reference: 'Organization/qiaotou-township-health-centre' }],
      reasonCode: [
        { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10', code: 'I10', display: '高血压' }] },
      ],
      authoredOn: '2026-11-05T09:10:00+08:00',
      note: [{ text: '血压控制不佳,建议调整用药' }],
    });
    expect(sr.meta.tag).toEqual([{ system: `${BASE}/CodeSystem/mapping`, code: 'village-referrals@1' }]);
  });

  it('without a doctor the clinic is the requester; 已接收 is completed', () => {
    const msg = map(rows()[1]!);
    expect(structuralErrors(msg.bundle)).toEqual([]);
    const [sr] = all(msg.bundle, 'ServiceRequest');
    expect(sr.requester).toEqual({ reference: `Organization/${VILLAGE}` });
    expect(sr.status).toBe('completed');
    expect(sr.performer).toEqual([{ reference: 'Organization/county-peoples-hospital' }]);
    expect(sr.note).toBeUndefined();
  });

  it('a row without its receiving institution or with an unknown state fails at its column', () => {
    const row = rows()[0]!;
    expect(failure(() => map({ ...row, cells: { ...row.cells, 接收机构: '' } }))).toMatch(
      /^line 2, column "接收机构": .*required value is missing$/,
    );
    expect(failure(() => map({ ...row, cells: { ...row.cells, 转诊状态: '处理中' } }))).toMatch(
      /line 2, column "转诊状态": .*"处理中" is not one of/,
    );
  });
});

describe('township-his-encounter version 2 (JSON)', () => {
  const sample = () =>
    parseFhirJson(readFileSync(path.join(SAMPLES, 'township-his-encounter.json'), 'utf8')) as any;
  const map = (input: unknown) => set.byId('township-his-encounter')!.map(input, ctx(TOWNSHIP));

  it('maps the sample: blood pressure, prescriptions, an immunization and a referral', () => {
    const msg = map(sample());
    expect(structuralErrors(msg.bundle)).toEqual([]);
    expect(set.byId('township-his-encounter')!.version).toBe('2');
    expect(types(msg.bundle)).toEqual([
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
    const doctor = `Practitioner?identifier=${BASE}/sid/source-id/${TOWNSHIP}|doctor-D017`;
    const [enc] = all(msg.bundle, 'Encounter');
    expect(enc.participant).toEqual([{ individual: { reference: doctor, display: '王建国' } }]);
    const bp = all(msg.bundle, 'Observation').find((o) => o.code.coding[0].code === '85354-9');
    expect(bp.effectiveDateTime).toBe('2026-11-01T09:18:00+08:00');
    expect(bp.component.map((c: any) => [c.code.coding[0].code, String(c.valueQuantity.value)])).toEqual([
      ['8480-6', '152'],
      ['8462-4', '94'],
    ]);
    const [rx1, rx2] = all(msg.bundle, 'MedicationRequest');
    expect(rx1.medicationCodeableConcept.coding).toEqual([
      { system: `${BASE}/CodeSystem/drug-cn`, code: 'XC08CAA138A001010100787', display: '硝苯地平缓释片' },
    ]);
    expect(rx1.requester).toEqual({ reference: doctor, display: '王建国' });
    expect(rx1.dosageInstruction[0]).toMatchObject({
      text: '10mg bid',
      timing: { code: { text: 'bid' }, repeat: { frequency: 2, period: 1, periodUnit: 'd' } },
    });
    expect(rx1.dispenseRequest.expectedSupplyDuration).toMatchObject({ unit: 'd', code: 'd' });
    expect(String(rx1.dispenseRequest.expectedSupplyDuration.value)).toBe('30');
    expect(rx2.dosageInstruction[0].text).toBe('每次0.5g，每日三次，餐中服');
    const [imm] = all(msg.bundle, 'Immunization');
    expect(imm).toMatchObject({
      status: 'completed',
      vaccineCode: {
        coding: [{ system: 'http://hl7.org/fhir/sid/cvx', code: '33' }],
        text: '23价肺炎球菌多糖疫苗',
      },
      occurrenceDateTime: '2026-11-01T09:35:00+08:00',
      lotNumber: '202609A017',
      protocolApplied: [{ doseNumberPositiveInt: 1 }],
      performer: [{ actor: { reference: `Organization/${TOWNSHIP}` } }],
      encounter: { reference: msg.bundle.entry![1]!.fullUrl },
    });
    const [sr] = all(msg.bundle, 'ServiceRequest');
    expect(sr).toMatchObject({
      status: 'active',
      intent: 'order',
      category: [{ coding: [{ system: 'http://snomed.info/sct', code: '3457005' }] }],
      code: { text: '上转' },
      performer: [{ reference: 'Organization/county-peoples-hospital' }],
      reasonCode: [{ coding: [{ system: 'http://hl7.org/fhir/sid/icd-10', code: 'I10' }] }],
      authoredOn: '2026-11-01T09:40:00+08:00',
    });
  });

  it('keeps every version 1 export valid: without the new parts, the version 1 resources and warnings', () => {
    const v1 = sample();
    for (const key of ['doctor', 'bloodPressure', 'prescriptions', 'immunizations', 'referral'])
      delete v1[key];
    const msg = map(v1);
    expect(structuralErrors(msg.bundle)).toEqual([]);
    expect(types(msg.bundle)).toEqual([
      'Patient',
      'Encounter',
      'Condition',
      'Condition',
      'Observation',
      'Observation',
      'Observation',
      'Observation',
    ]);
    expect(msg.issues.map((i) => i.expression?.[0])).toEqual(['/vitals/2/unit', '/vitals/3/item']);
    const [enc] = all(msg.bundle, 'Encounter');
    expect(enc.participant).toBeUndefined();
  });

  it('takes a list of referrals (down to a village clinic), a prn prescription and a local vaccine code', () => {
    const input = sample();
    delete input.doctor;
    delete input.referral;
    input.referrals = [
      {
        referralNo: 'ZZ-1',
        direction: 'down',
        to: VILLAGE,
        status: 'completed',
        reasonCode: 'I63.9',
        reasonName: '脑梗死',
      },
      {
        referralNo: 'ZZ-2',
        direction: 'up',
        to: 'county-peoples-hospital',
        status: 'active',
        time: '2026-11-02 08:00',
      },
    ];
    input.prescriptions = [
      {
        seq: 1,
        drugCode: 'XR03ACS012',
        drugName: '硫酸沙丁胺醇气雾剂',
        dose: 200,
        doseUnit: 'ug',
        frequency: 'prn',
      },
    ];
    input.immunizations = [{ seq: 1, localCode: 'NIP-JE-L', vaccineName: '乙脑减毒活疫苗', doseNumber: 2 }];
    const msg = map(input);
    expect(structuralErrors(msg.bundle)).toEqual([]);
    const [down, up] = all(msg.bundle, 'ServiceRequest');
    expect(down.performer).toEqual([{ reference: `Organization/${VILLAGE}` }]);
    expect(down.code.text).toBe('下转');
    expect(down.requester).toEqual({ reference: `Organization/${TOWNSHIP}` });
    expect(down.authoredOn).toBe('2026-11-01T09:15:00+08:00');
    expect(up.authoredOn).toBe('2026-11-02T08:00:00+08:00');
    const [rx] = all(msg.bundle, 'MedicationRequest');
    expect(rx.dosageInstruction[0].asNeededBoolean).toBe(true);
    expect(rx.dosageInstruction[0].timing.repeat).toBeUndefined();
    expect(rx.requester).toEqual({ reference: `Organization/${TOWNSHIP}` });
    const [imm] = all(msg.bundle, 'Immunization');
    expect(imm.vaccineCode.coding).toEqual([
      { system: `${BASE}/CodeSystem/local/${TOWNSHIP}/vaccine`, code: 'NIP-JE-L', display: '乙脑减毒活疫苗' },
    ]);
    expect(imm.occurrenceDateTime).toBe('2026-11-01T09:15:00+08:00');
  });

  it('refuses what it cannot map, at the item', () => {
    const noTo = sample();
    delete noTo.referral.to;
    expect(failure(() => map(noTo))).toMatch(/^\/referral\/to: .*required value is missing$/);
    const noVaccine = sample();
    delete noVaccine.immunizations[0].cvx;
    expect(failure(() => map(noVaccine))).toMatch(/^\/immunizations\/0\/cvx: .*required value is missing$/);
    const noDose = sample();
    delete noDose.immunizations[0].doseNumber;
    expect(failure(() => map(noDose))).toMatch(/^\/immunizations\/0\/doseNumber: /);
    const twice = sample();
    twice.referrals = [{ ...twice.referral }];
    expect(failure(() => map(twice))).toMatch(/referral-ZZ20261101-0003 is produced twice/);
    const noDrug = sample();
    delete noDrug.prescriptions[1].drugCode;
    expect(failure(() => map(noDrug))).toMatch(/^\/prescriptions\/1\/drugCode: /);
  });
});

describe('hie mapping on the new files', () => {
  const run = async (args: string[]) => {
    let out = '';
    let err = '';
    const code = await mappingCommand(args, { out: (t) => void (out += t), err: (t) => void (err += t) });
    return { code, out, err };
  };

  it('lint accepts both files; test maps their samples without errors', async () => {
    const lint = await run([
      'lint',
      path.join(DEFAULT_MAPPINGS_DIR, 'csv/village-referrals.yaml'),
      path.join(DEFAULT_MAPPINGS_DIR, 'json/township-his-encounter.yaml'),
    ]);
    expect(lint.err).toBe('mappings OK (2 files)\n');
    expect(lint.code).toBe(0);
    const csv = await run([
      'test',
      'village-referrals',
      path.join(SAMPLES, 'village-referrals.csv'),
      '--institution',
      VILLAGE,
      '--json',
    ]);
    expect(csv.code).toBe(0);
    expect(JSON.parse(csv.out).results).toHaveLength(2);
    const json = await run([
      'test',
      'township-his-encounter',
      path.join(SAMPLES, 'township-his-encounter.json'),
      '--json',
    ]);
    expect(json.code).toBe(0);
  });
});
