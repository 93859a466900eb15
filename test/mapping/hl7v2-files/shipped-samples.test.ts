import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Bundle, Immunization, Patient, ServiceRequest } from 'fhir/r4';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAPPINGS_DIR, loadMappings, type MappingSet } from '../../../src/mapping/engine/index.ts';
import { mapHl7 } from './support.ts';
import { MappingError, type MappingContext } from '../../../src/mapping/types.ts';
import { parseHl7, type ParsedHl7 } from '../../../src/parse/hl7v2/index.ts';
import { BASE, INSTITUTION, structuralErrors } from './support.ts';

const CPH = { ...INSTITUTION, id: 'county-peoples-hospital', facilityCodes: ['CPH', 'CPH-LIS'] };
const CTX: MappingContext = { institution: CPH, canonicalBase: BASE, archiveId: 'arch-h3-0001' };
const MRN = `${BASE}/sid/mrn/county-peoples-hospital`;
const SID = `${BASE}/sid/source-id/county-peoples-hospital`;

let set: MappingSet;
beforeAll(async () => {
  set = await loadMappings();
});

const sample = (name: string) =>
  parseHl7(readFileSync(path.join(DEFAULT_MAPPINGS_DIR, 'samples', name), 'utf8'));
const entries = <T>(b: Bundle, type: string) =>
  (b.entry ?? []).filter((e) => e.resource?.resourceType === type) as unknown as {
    fullUrl: string;
    resource: T;
    request: { url: string };
  }[];
const mapWith = (msg: ParsedHl7, ctx = CTX) =>
  set
    .selectHl7({
      institution: ctx.institution.id,
      application: msg.sendingApplication,
      messageType: msg.messageType,
    })!
    .map(msg, ctx);
const failure = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(MappingError);
    return err as MappingError;
  }
  throw new Error('expected a MappingError');
};

/** The Patient the ADT mapping (adt.yaml) writes for the same PID (an A28 carrying it). */
function adtPatientEntry(msg: ParsedHl7) {
  const pid = msg.text.split('\r').find((s) => s.startsWith('PID|'))!;
  const adt = parseHl7(
    `MSH|^~\\&|HIS|CPH|HIE|COUNTY|20261101080000||ADT^A28|A1|P|2.5.1\rEVN|A28|20261101080000\r${pid}\r`,
  );
  return entries<Patient>(mapHl7(adt, CTX).bundle, 'Patient')[0]!;
}

describe('orm-o01 on its sample', () => {
  it('maps the patient as ADT keys it and one ServiceRequest per order', () => {
    const msg = sample('orm-o01.hl7');
    const out = mapWith(msg);
    expect(structuralErrors(out.bundle)).toEqual([]);
    expect(out.type).toBe('ORM^O01');
    expect(out.controlId).toBe('CPH-ORM-20261103-0007');
    expect(out.eventTime).toBe('2026-11-03T09:12:00+08:00');
    const [p] = entries<Patient>(out.bundle, 'Patient');
    const adt = adtPatientEntry(msg);
    // Same conditional key and the same identifiers: the order attaches to the ADT feed's record.
    expect(p!.request.url).toBe(adt.request.url);
    expect(p!.request.url).toBe(`Patient?identifier=${encodeURIComponent(MRN)}|ZY0012345`);
    expect(p!.resource.identifier).toEqual(adt.resource.identifier);
    expect(p!.resource.name).toEqual([{ text: '李建华', family: '李', given: ['建华'] }]);
    expect(p!.resource.gender).toBe('male');
    expect(p!.resource.birthDate).toBe('1968-04-15');
    expect(p!.resource.address?.[0]?.text).toBe('浙江省青山县城关镇解放路18号');
    expect(p!.resource.meta?.tag).toEqual([{ system: `${BASE}/CodeSystem/mapping`, code: 'orm-o01@1' }]);
    expect(p!.resource.meta?.source).toBe(`${BASE}/institution/county-peoples-hospital#arch-h3-0001`);

    const orders = entries<ServiceRequest>(out.bundle, 'ServiceRequest');
    expect(orders.map((o) => o.request.url)).toEqual([
      `ServiceRequest?identifier=${encodeURIComponent(SID)}|order-CPH-O-88001`,
      `ServiceRequest?identifier=${encodeURIComponent(SID)}|order-CPH-O-88002`,
    ]);
    const [ct, ecg] = orders.map((o) => o.resource);
    expect(ct!.subject.reference).toBe(p!.fullUrl);
    expect(ct!.status).toBe('active');
    expect(ct!.intent).toBe('order');
    expect(ct!.code?.coding?.[0]).toEqual({
      system: 'http://loinc.org',
      code: '24725-4',
      display: 'CT Head',
    });
    expect(ct!.authoredOn).toBe('2026-11-03T09:12:00+08:00');
    expect(ct!.occurrenceDateTime).toBe('2026-11-03T10:00:00+08:00');
    expect(ct!.reasonCode?.[0]?.coding?.[0]).toMatchObject({
      system: 'http://hl7.org/fhir/sid/icd-10',
      code: 'R51',
    });
    expect(ct!.note).toEqual([{ text: '患者有造影剂过敏史，平扫即可' }]);
    expect(ct!.requester).toEqual({ identifier: { system: SID, value: 'doctor-D0231' }, display: '周文斌' });
    expect(ct!.priority).toBeUndefined();
    // The second order: its own TQ1 priority, no note or diagnosis borrowed from the first.
    expect(ecg!.priority).toBe('stat');
    expect(ecg!.note).toBeUndefined();
    expect(ecg!.reasonCode).toBeUndefined();
    expect(ecg!.code?.coding?.[0]).toMatchObject({
      system: `${BASE}/CodeSystem/local/county-peoples-hospital/obr-4`,
      code: 'ECG01',
    });
    // The untranslated local code is kept and reported, at its group and path.
    expect(out.issues).toEqual([
      expect.objectContaining({
        severity: 'warning',
        code: 'code-invalid',
        expression: ['ORC[2]/OBR-4'],
        diagnostics: expect.stringContaining('"ECG01"'),
      }),
    ]);
  });

  it('fails the whole message, with the reason, when an order has no number at all', () => {
    const text = readFileSync(path.join(DEFAULT_MAPPINGS_DIR, 'samples/orm-o01.hl7'), 'utf8')
      .replace('ORC|NW|CPH-O-88002^HIS|', 'ORC|NW||')
      .replace('OBR|1|CPH-O-88002^HIS|', 'OBR|1||');
    const err = failure(() => mapWith(parseHl7(text)));
    expect(err.kind).toBe('error');
    expect(err.problems).toEqual([
      expect.objectContaining({
        severity: 'error',
        expression: 'ORC[2]',
        text: expect.stringMatching(/^order key/),
      }),
    ]);
  });

  it('a bad timestamp fails with its HL7 position (ERR-2) and code 102', () => {
    const text = readFileSync(path.join(DEFAULT_MAPPINGS_DIR, 'samples/orm-o01.hl7'), 'utf8').replace(
      '||20261103091300|',
      '||20261340091300|',
    );
    const err = failure(() => mapWith(parseHl7(text)));
    expect(err.problems).toEqual([
      expect.objectContaining({
        text: expect.stringContaining('"20261340091300" is not a valid HL7 date/time'),
        expression: 'ORC[2]/ORC-9',
        hl7: { segment: 'ORC', sequence: 2, field: 9, repetition: 1, code: '102' },
      }),
    ]);
  });
});

describe('oml-o21 on its sample', () => {
  it('maps laboratory orders of the LIS to the same patient record', () => {
    const msg = sample('oml-o21.hl7');
    const out = mapWith(msg);
    expect(structuralErrors(out.bundle)).toEqual([]);
    expect(out.type).toBe('OML^O21');
    expect(out.issues).toEqual([]);
    const [p] = entries<Patient>(out.bundle, 'Patient');
    expect(p!.request.url).toBe(adtPatientEntry(msg).request.url);
    const orders = entries<ServiceRequest>(out.bundle, 'ServiceRequest').map((o) => o.resource);
    expect(orders.map((o) => o.identifier?.[0]?.value)).toEqual([
      'order-LAB-20261104-0101',
      'order-LAB-20261104-0102',
    ]);
    expect(orders.map((o) => o.code?.coding?.[0]?.code)).toEqual(['57698-3', '4548-4']);
    expect(orders[0]!.category?.[0]?.coding?.[0]).toMatchObject({
      system: 'http://snomed.info/sct',
      code: '108252007',
    });
    expect(orders[0]!.priority).toBe('routine');
    expect(orders[0]!.note).toEqual([{ text: '空腹采血' }]);
    expect(orders[1]!.note).toBeUndefined();
    expect(orders[1]!.occurrenceDateTime).toBeUndefined();
    expect(orders.every((o) => o.meta?.tag?.[0]?.code === 'oml-o21@1')).toBe(true);
  });
});

describe('vxu-v04 on its sample', () => {
  it('one Immunization per RXA: CVX kept with its system, RXA-20 status, local code reported', () => {
    const msg = sample('vxu-v04.hl7');
    const out = mapWith(msg);
    expect(structuralErrors(out.bundle)).toEqual([]);
    expect(out.type).toBe('VXU^V04');
    expect(out.eventTime).toBe('2026-11-05T10:30:00+08:00');
    const [p] = entries<Patient>(out.bundle, 'Patient');
    expect(p!.request.url).toBe(adtPatientEntry(msg).request.url);
    const imms = entries<Immunization>(out.bundle, 'Immunization');
    expect(imms.map((i) => i.request.url)).toEqual(
      ['imm-EPI-IMM-5001', 'imm-EPI-IMM-5002', 'imm-EPI-IMM-5003'].map(
        (v) => `Immunization?identifier=${encodeURIComponent(SID)}|${v}`,
      ),
    );
    const [hepB, mmr, bcg] = imms.map((i) => i.resource);
    expect(hepB!.patient.reference).toBe(p!.fullUrl);
    expect(hepB!.status).toBe('completed');
    expect(hepB!.vaccineCode.coding).toEqual([
      { system: 'http://hl7.org/fhir/sid/cvx', code: '08', display: 'Hep B, adolescent or pediatric' },
    ]);
    expect(hepB!.occurrenceDateTime).toBe('2026-11-05T10:05:00+08:00');
    expect(hepB!.primarySource).toBe(true);
    expect(hepB!.lotNumber).toBe('AHBVB251A');
    expect(hepB!.expirationDate).toBe('2027-10-31');
    expect(hepB!.manufacturer).toEqual({
      display: '华兰生物',
      identifier: { system: 'http://hl7.org/fhir/sid/mvx', value: 'HZ' },
    });
    expect(String(hepB!.doseQuantity?.value)).toBe('10');
    expect(hepB!.doseQuantity).toMatchObject({ system: 'http://unitsofmeasure.org', code: 'ug' });
    expect(hepB!.site?.coding?.[0]).toMatchObject({
      system: 'http://terminology.hl7.org/CodeSystem/v2-0163',
      code: 'LA',
    });
    expect(mmr!.status).toBe('not-done');
    expect(mmr!.statusReason?.text).toBe('Parental decision');
    expect(mmr!.doseQuantity).toBeUndefined(); // 999 = amount unknown
    expect(bcg!.primarySource).toBe(false);
    expect(bcg!.vaccineCode.coding?.[0]).toMatchObject({
      system: `${BASE}/CodeSystem/local/county-peoples-hospital/vaccine`,
      code: 'BCG01',
    });
    expect(out.issues.map((i) => i.expression?.[0])).toEqual(['ORC[2]/RXA-18', 'ORC[3]/RXA-5']);
  });

  it('a VXU without ORC (RXA alone, as many senders write it) still gives one Immunization per RXA', () => {
    const text = readFileSync(path.join(DEFAULT_MAPPINGS_DIR, 'samples/vxu-v04.hl7'), 'utf8')
      .split('\r')
      .filter((s) => !s.startsWith('ORC|'))
      .join('\r');
    const out = mapWith(parseHl7(text));
    expect(structuralErrors(out.bundle)).toEqual([]);
    const imms = entries<Immunization>(out.bundle, 'Immunization');
    // No order number: keyed by the administration time and the vaccine.
    expect(imms.map((i) => i.request.url)).toEqual(
      ['imm-20261105100500-08', 'imm-20261105101000-03', 'imm-20240302093000-BCG01'].map(
        (v) => `Immunization?identifier=${encodeURIComponent(SID)}|${v}`,
      ),
    );
    expect(imms.map((i) => i.resource.status)).toEqual(['completed', 'not-done', 'completed']);
    expect(out.issues.map((i) => i.expression?.[0])).toEqual(['RXA[2]/RXA-18', 'RXA[3]/RXA-5']);
  });

  it('RXA-21 D marks the record entered-in-error; PA is a sub-potent dose', () => {
    const text = readFileSync(path.join(DEFAULT_MAPPINGS_DIR, 'samples/vxu-v04.hl7'), 'utf8')
      .split('\r')
      .map((s) => (s.includes('AHBVB251A') ? s.replace(/\|CP\|A$/, '|PA|A') : s))
      .map((s) => (s.includes('BCG01') ? s.replace(/\|CP\|A$/, '|CP|D') : s))
      .join('\r');
    const imms = entries<Immunization>(mapWith(parseHl7(text)).bundle, 'Immunization').map((i) => i.resource);
    expect(imms[0]).toMatchObject({ status: 'completed', isSubpotent: true });
    expect(imms[2]!.status).toBe('entered-in-error');
  });

  it('an unknown completion status or a group without RXA fails the message, nothing partial', () => {
    const base = readFileSync(path.join(DEFAULT_MAPPINGS_DIR, 'samples/vxu-v04.hl7'), 'utf8');
    const unknown = failure(() => mapWith(parseHl7(base.replace('||RE|A\r', '||XX|A\r'))));
    expect(unknown.problems).toEqual([
      expect.objectContaining({
        expression: 'ORC[2]/RXA-20',
        text: expect.stringContaining('"XX" is not one of'),
        hl7: { segment: 'RXA', sequence: 2, field: 20, repetition: 1, code: '103' },
      }),
    ]);
    const noRxa = base
      .split('\r')
      .filter((s) => !s.startsWith('RXA|0|1|20261105101000'))
      .join('\r');
    const missing = failure(() => mapWith(parseHl7(noRxa)));
    expect(missing.problems.map((p) => p.expression)).toContain('ORC[2]/RXA-5');
  });

  it('refuses (AR) a message of another type', () => {
    const err = failure(() => set.byId('vxu-v04')!.map(sample('orm-o01.hl7'), CTX));
    expect(err.kind).toBe('reject');
    expect(err.problems[0]!.text).toMatch(/handles VXU\^V04, not ORM\^O01/);
  });
});
