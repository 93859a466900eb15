import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Bundle, DiagnosticReport, Encounter, ImagingStudy, Observation, Patient } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAPPINGS_DIR } from '../../../src/mapping/engine/index.ts';
import { MappingError, type MappingContext } from '../../../src/mapping/types.ts';
import { parseHl7 } from '../../../src/parse/hl7v2/index.ts';
import { BASE, INSTITUTION, mapHl7, structuralErrors } from './support.ts';

// The shipped ADT, merge and ORU files on their samples (mappings/samples/) and on variations of
// them: what the hand-written mapping did before, and what it did not (A47, ED/RP, imaging, SN).
const CPH = { ...INSTITUTION, id: 'county-peoples-hospital', facilityCodes: ['CPH'] };
const CTX: MappingContext = { institution: CPH, canonicalBase: BASE, archiveId: 'arch-files-1' };
const MRN = `${BASE}/sid/mrn/county-peoples-hospital`;
const SID = `${BASE}/sid/source-id/county-peoples-hospital`;

const sample = (name: string) => readFileSync(path.join(DEFAULT_MAPPINGS_DIR, 'samples', name), 'utf8');
const map = (text: string) => mapHl7(parseHl7(text), CTX);
const all = <T>(b: Bundle, type: string) =>
  (b.entry ?? []).filter((e) => e.resource?.resourceType === type) as unknown as {
    fullUrl: string;
    resource: T;
    request: { method: string; url: string };
  }[];
const failure = (text: string) => {
  try {
    map(text);
  } catch (err) {
    expect(err).toBeInstanceOf(MappingError);
    return err as MappingError;
  }
  throw new Error('expected a MappingError');
};

describe('adt.yaml', () => {
  it('maps the A01 sample: Patient by MRN, Encounter by visit, a Condition per DG1 linked both ways', () => {
    const out = map(sample('adt-a01.hl7'));
    expect(out.type).toBe('ADT^A01');
    expect(structuralErrors(out.bundle)).toEqual([]);
    const [p] = all<Patient>(out.bundle, 'Patient');
    expect(p!.request.url).toBe(`Patient?identifier=${encodeURIComponent(MRN)}|ZY0012345`);
    expect(p!.resource.meta?.tag?.[0]?.code).toBe('adt@1');
    const [enc] = all<Encounter>(out.bundle, 'Encounter');
    expect(enc!.resource.class).toEqual({
      system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
      code: 'IMP',
      display: 'inpatient encounter',
    });
    const conditions = all(out.bundle, 'Condition');
    expect(conditions.map((c) => c.request.url)).toEqual([
      `Condition?identifier=${encodeURIComponent(SID)}|V20261105-7-DG1-1`,
      `Condition?identifier=${encodeURIComponent(SID)}|V20261105-7-DG1-2`,
    ]);
    expect(enc!.resource.diagnosis?.map((d) => d.condition.reference)).toEqual(
      conditions.map((c) => c.fullUrl),
    );
  });

  it('follows the event: A03 finishes, A11 voids, A13 reopens without the end, A05 plans', () => {
    const base = sample('adt-a01.hl7').replace(/\|20261105075500\r/, '|20261105075500|20261107100000\r');
    const status = (event: string) =>
      all<Encounter>(
        map(base.replace('ADT^A01^ADT_A01', `ADT^${event}`).replace('EVN|A01', `EVN|${event}`)).bundle,
        'Encounter',
      )[0]!.resource;
    expect(status('A01').status).toBe('finished'); // PV1-45 is there
    expect(status('A03').status).toBe('finished');
    expect(status('A11').status).toBe('entered-in-error');
    expect(status('A13')).toMatchObject({
      status: 'in-progress',
      period: { start: '2026-11-05T07:55:00+08:00' },
    });
    expect(status('A13').period?.end).toBeUndefined();
    expect(status('A05').status).toBe('planned');
  });

  it('reads the event from EVN-1 when MSH-9 has no trigger (v2.2 and before)', () => {
    const old = sample('adt-a01.hl7').replace('ADT^A01^ADT_A01', 'ADT').replace('EVN|A01', 'EVN|A03');
    const out = map(old);
    expect(out.type).toBe('ADT^A03');
    expect(all<Encounter>(out.bundle, 'Encounter')[0]!.resource.status).toBe('finished');
  });

  it('creates an Encounter without a visit number (POST) and says so; a registration writes the Patient only', () => {
    const noVisit = sample('adt-a01.hl7').replace('|V20261105-7|', '||');
    const out = map(noVisit);
    const [enc] = all<Encounter>(out.bundle, 'Encounter');
    expect(enc!.request).toEqual({ method: 'POST', url: 'Encounter' });
    expect(enc!.resource.identifier).toBeUndefined();
    expect(out.issues.map((i) => i.diagnostics)).toContainEqual(expect.stringContaining('created anew'));
    // Without a visit the diagnoses are keyed by the MRN and the code.
    expect(
      all<{ identifier: { value: string }[] }>(out.bundle, 'Condition')[0]!.resource.identifier[0]!.value,
    ).toBe('ZY0012345-DG1-I10');
    const a28 = sample('adt-a01.hl7')
      .replace('ADT^A01^ADT_A01', 'ADT^A28^ADT_A05')
      .replace(/PV1\|[^\r]*\r/, '')
      .replace(/DG1\|[^\r]*\r/g, '');
    expect(map(a28).bundle.entry!.map((e) => e.resource!.resourceType)).toEqual(['Patient']);
  });

  it('reports a local patient class and keeps it; an empty one is unknown', () => {
    const out = map(sample('adt-a01.hl7').replace('PV1|1|I|', 'PV1|1|Z|'));
    expect(all<Encounter>(out.bundle, 'Encounter')[0]!.resource.class).toEqual({
      system: `${BASE}/CodeSystem/local/county-peoples-hospital/pv1-2`,
      code: 'Z',
    });
    expect(out.issues).toContainEqual(
      expect.objectContaining({ code: 'code-invalid', expression: ['PV1-2'] }),
    );
    const empty = map(sample('adt-a01.hl7').replace('PV1|1|I|', 'PV1|1||'));
    expect(all<Encounter>(empty.bundle, 'Encounter')[0]!.resource.class.code).toBe('UNK');
  });
});

describe('adt-merge.yaml', () => {
  it('A40: the survivor replaces the retired record, which keeps only its MRN and links back', () => {
    const out = map(sample('adt-a40.hl7'));
    expect(structuralErrors(out.bundle)).toEqual([]);
    const [survivor, retired] = all<Patient>(out.bundle, 'Patient');
    expect(survivor!.request.url).toBe(`Patient?identifier=${encodeURIComponent(MRN)}|ZY0012345`);
    expect(retired!.request.url).toBe(`Patient?identifier=${encodeURIComponent(MRN)}|ZY0099871`);
    expect(survivor!.resource).toMatchObject({
      active: true,
      link: [{ other: { reference: retired!.fullUrl }, type: 'replaces' }],
    });
    expect(retired!.resource).toMatchObject({
      active: false,
      link: [{ other: { reference: survivor!.fullUrl }, type: 'replaced-by' }],
    });
    expect(retired!.resource.identifier!.map((i) => i.value)).toEqual(['ZY0099871']); // no national ID
    expect(retired!.resource.name).toEqual(survivor!.resource.name);
  });

  it('A47 (identifier change) maps the same way; MRG-1 naming the survivor is refused', () => {
    const a47 = sample('adt-a40.hl7')
      .replace('ADT^A40^ADT_A39', 'ADT^A47^ADT_A30')
      .replace('EVN|A40', 'EVN|A47');
    const out = map(a47);
    expect(out.type).toBe('ADT^A47');
    expect(all<Patient>(out.bundle, 'Patient').map((p) => p.resource.active)).toEqual([true, false]);
    const self = failure(sample('adt-a40.hl7').replace('MRG|ZY0099871', 'MRG|ZY0012345'));
    expect(self.problems[0]!.text).toMatch(/produced twice/);
    const noMrg = failure(sample('adt-a40.hl7').replace(/MRG\|[^\r]*\r/, ''));
    expect(noMrg.problems.some((p) => p.hl7?.segment === 'MRG' && p.hl7.code === '100')).toBe(true);
  });
});

describe('oru-r01.yaml', () => {
  const out = map(sample('oru-r01.hl7'));
  const reports = all<DiagnosticReport>(out.bundle, 'DiagnosticReport');
  const observations = all<Observation>(out.bundle, 'Observation');

  it('maps the sample: two reports, their results, valid resources', () => {
    expect(structuralErrors(out.bundle)).toEqual([]);
    expect(reports.map((r) => r.request.url)).toEqual([
      `DiagnosticReport?identifier=${encodeURIComponent(SID)}|CT-0091`,
      `DiagnosticReport?identifier=${encodeURIComponent(SID)}|LAB-3301`,
    ]);
    // ED and RP results are not Observations: 2 text results of the CT, 3 of the lab.
    expect(observations.map((o) => o.resource.identifier![0]!.value)).toEqual([
      'CT-0091-1',
      'CT-0091-2',
      'LAB-3301-1',
      'LAB-3301-2',
      'LAB-3301-3',
    ]);
    expect(reports[0]!.resource.result).toEqual(
      observations.slice(0, 2).map((o) => ({ reference: o.fullUrl })),
    );
    expect(reports[1]!.resource.result).toEqual(observations.slice(2).map((o) => ({ reference: o.fullUrl })));
    expect(observations[0]!.resource.valueString).toBe('脑实质未见明显异常密度影。\n脑室系统未见扩大。');
  });

  it('puts an ED document and an RP link in the report presentedForm', () => {
    const [pdf, link] = reports[0]!.resource.presentedForm!;
    expect(pdf!.contentType).toBe('application/pdf');
    expect(Buffer.from(pdf!.data!, 'base64').toString('latin1')).toMatch(/^%PDF-1\.4/);
    expect(link).toEqual({
      contentType: 'image/jpeg',
      url: 'https://pacs.cph.example/viewer?study=1.2.156.112605.20261105.91',
    });
    expect(reports[1]!.resource.presentedForm).toBeUndefined();
    const badBase64 = failure(
      sample('oru-r01.hl7').replace(/\^Base64\^[A-Za-z0-9+/=]+/, '^Base64^not*base64'),
    );
    expect(badBase64.problems[0]).toMatchObject({
      hl7: { segment: 'OBX', sequence: 3, field: 5, code: '102' },
    });
  });

  it('makes an ImagingStudy for the CT with its DICOM study UID and modality, referred to by the report', () => {
    const [study] = all<ImagingStudy>(out.bundle, 'ImagingStudy');
    expect(study!.resource).toMatchObject({
      status: 'available',
      started: '2026-11-05T10:20:00+08:00',
      modality: [{ system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'CT' }],
    });
    expect(study!.resource.identifier).toContainEqual(
      expect.objectContaining({ system: 'urn:dicom:uid', value: 'urn:oid:1.2.156.112605.20261105.91' }),
    );
    expect(reports[0]!.resource.imagingStudy).toEqual([{ reference: study!.fullUrl }]);
    expect(reports[1]!.resource.imagingStudy).toBeUndefined(); // the lab report is not imaging
  });

  it('reads SN as a comparator, a ratio and a range; NM with UCUM; flags as interpretation', () => {
    const [chol, tg, titre] = observations.slice(2).map((o) => o.resource);
    expect(chol!.valueQuantity).toMatchObject({
      unit: 'mmol/L',
      system: 'http://unitsofmeasure.org',
      code: 'mmol/L',
    });
    expect(String(chol!.valueQuantity!.value)).toBe('5.82');
    expect(chol!.referenceRange?.[0]).toMatchObject({ text: '2.8-5.2' });
    expect(String(chol!.referenceRange![0]!.low!.value)).toBe('2.8');
    expect(chol!.interpretation?.[0]?.coding?.[0]?.code).toBe('H');
    expect(tg!.valueQuantity).toMatchObject({ comparator: '<' });
    expect(String(tg!.valueQuantity!.value)).toBe('0.3');
    expect(String(titre!.valueRatio!.numerator!.value)).toBe('1');
    expect(String(titre!.valueRatio!.denominator!.value)).toBe('128');
    const range = map(sample('oru-r01.hl7').replace('||^1^:^128|', '||^2^-^4|'));
    const r = all<Observation>(range.bundle, 'Observation').at(-1)!.resource;
    expect([String(r.valueRange!.low!.value), String(r.valueRange!.high!.value)]).toEqual(['2', '4']);
  });

  it('keeps a result of an unknown value type with dataAbsentReason and a warning; a bad NM fails at OBX-5', () => {
    const odd = map(sample('oru-r01.hl7').replace('OBX|1|NM|2093-3', 'OBX|1|XYZ|2093-3'));
    const chol = all<Observation>(odd.bundle, 'Observation')[2]!.resource;
    expect(chol.dataAbsentReason?.coding?.[0]?.code).toBe('unsupported');
    expect(chol.valueQuantity).toBeUndefined();
    expect(odd.issues.map((i) => i.diagnostics)).toContainEqual(
      expect.stringMatching(/value type this mapping does not read/),
    );
    const nm = failure(sample('oru-r01.hl7').replace('||5.82|', '||5,82|'));
    expect(nm.problems[0]).toMatchObject({ hl7: { segment: 'OBX', sequence: 5, field: 5, code: '102' } }); // the message's 5th OBX
  });

  it('corrected and deleted results (OBX-11 C, D, W)', () => {
    const status = (code: string) =>
      all<Observation>(
        map(sample('oru-r01.hl7').replace('|H|||F|||', `|H|||${code}|||`)).bundle,
        'Observation',
      )[2]!.resource.status;
    expect([status('C'), status('D'), status('W'), status('F')]).toEqual([
      'corrected',
      'entered-in-error',
      'entered-in-error',
      'final',
    ]);
  });

  it('refuses a message without PID (100) and a report without OBR-3 and OBR-2 (101 at OBR-3)', () => {
    const noPid = failure(sample('oru-r01.hl7').replace(/PID\|[^\r\n]*[\r\n]+/, ''));
    expect(noPid.problems[0]).toMatchObject({ hl7: { segment: 'PID', code: '100' } });
    const noId = failure(sample('oru-r01.hl7').replace('OBR|2|P-LAB-3301|LAB-3301|', 'OBR|2|||'));
    expect(noId.problems[0]).toMatchObject({ hl7: { segment: 'OBR', sequence: 2, field: 3, code: '101' } });
  });
});
