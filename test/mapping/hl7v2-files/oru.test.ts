import type { DiagnosticReport, Observation } from 'fhir/r4';
import { isLosslessNumber } from 'lossless-json';
import { describe, expect, it } from 'vitest';
import { stringifyFhirJson } from '../../../src/kernel/fhir-json.ts';
import { mapHl7 } from './support.ts';
import { MappingError } from '../../../src/mapping/types.ts';
import { parseHl7 } from '../../../src/parse/hl7v2/index.ts';
import { BASE, CTX, structuralErrors } from './support.ts';

const ORU = [
  'MSH|^~\\&|LIS|XQWSY|HIE|COUNTY|20240302101500||ORU^R01^ORU_R01|LAB-77|P|2.5.1|||AL|NE|CHN|UNICODE UTF-8',
  'PID|1||M0042^^^XQWSY^MR~330522199003072628^^^^NNCHN||王^芳||19900307|F',
  'PV1|1|O|||||||||||||||||V88',
  'OBR|1|P-1001^HIS|F-2001^LIS|CBC^血常规^L|||20240302080000|||||||||||||||20240302100000|||F',
  'OBX|1|NM|6690-2^WBC^LN||6.20|10*9/L^10^9/L^UCUM|3.5-9.5||||F|||20240302083000',
  'OBX|2|NM|718-7^Hemoglobin^LN||1.50|g/dL^g/dL^UCUM|1.10-1.60|N|||F',
  'OBX|3|NM|GLU^血糖^L||12.8|mmol/L|3.9-6.1|H|||F',
  'OBX|4|ST|COL^颜色^L||淡黄色||||||F',
  'OBX|5|CWE|600-7^Bacteria identified^LN||27268008^Salmonella^SCT||||||C',
  'OBX|6|FT|REM^备注^L||第一行\\.br\\第二行 \\T\\ 完||||||F',
].join('\r');

describe('shipped ORU^R01 mapping (mappings/hl7v2/oru-r01.yaml)', () => {
  const out = mapHl7(parseHl7(ORU), CTX);
  const entries = out.bundle.entry!;
  const byType = (t: string) => entries.filter((e) => e.resource!.resourceType === t);

  it('maps a patient, the encounter, one report and six results that pass structural validation', () => {
    expect(out.type).toBe('ORU^R01');
    expect(entries.map((e) => e.resource!.resourceType)).toEqual([
      'Patient',
      'Encounter',
      'DiagnosticReport',
      'Observation',
      'Observation',
      'Observation',
      'Observation',
      'Observation',
      'Observation',
    ]);
    expect(structuralErrors(out.bundle)).toEqual([]);
    expect(out.eventTime).toBe('2024-03-02T10:00:00+08:00'); // OBR-22
    for (const e of entries) {
      expect(e.resource!.meta).toMatchObject({
        source: `${BASE}/institution/xq-township#${CTX.archiveId}`,
        tag: [{ code: 'oru-r01@1' }],
      });
      expect((e.resource as Observation).extension).toContainEqual({
        url: `${BASE}/StructureDefinition/source-event-time`,
        valueDateTime: '2024-03-02T10:00:00+08:00',
      });
    }
  });

  it('keys the report by OBR-3 and each result by report id + OBX-1, referencing by fullUrl', () => {
    const [rep] = byType('DiagnosticReport');
    const report = rep!.resource as DiagnosticReport;
    const src = `${BASE}/sid/source-id/xq-township`;
    expect(report.identifier).toEqual([{ use: 'usual', system: src, value: 'F-2001' }]);
    expect(rep!.request!.url).toBe(`DiagnosticReport?identifier=${encodeURIComponent(src)}|F-2001`);
    const obs = byType('Observation');
    expect(obs.map((o) => (o.resource as Observation).identifier![0]!.value)).toEqual([
      'F-2001-1',
      'F-2001-2',
      'F-2001-3',
      'F-2001-4',
      'F-2001-5',
      'F-2001-6',
    ]);
    expect(report.result).toEqual(obs.map((o) => ({ reference: o.fullUrl })));
    const patientUrl = entries[0]!.fullUrl;
    expect(report.subject).toEqual({ reference: patientUrl });
    expect(report.encounter).toEqual({ reference: entries[1]!.fullUrl });
    expect(report.issued).toBe('2024-03-02T10:00:00+08:00');
    expect(report.effectiveDateTime).toBe('2024-03-02T08:00:00+08:00');
    expect(report.code.coding).toEqual([
      { system: `${BASE}/CodeSystem/local/xq-township/obr-4`, code: 'CBC', display: '血常规' },
    ]);
  });

  it('maps values by OBX-2, keeping the decimal text exactly', () => {
    const o = byType('Observation').map((e) => e.resource as Observation);
    expect(o[0]!.code.coding![0]).toEqual({ system: 'http://loinc.org', code: '6690-2', display: 'WBC' });
    expect(o[0]!.effectiveDateTime).toBe('2024-03-02T08:30:00+08:00'); // OBX-14
    expect(o[1]!.effectiveDateTime).toBe('2024-03-02T08:00:00+08:00'); // OBR-7
    expect(isLosslessNumber(o[1]!.valueQuantity!.value)).toBe(true);
    const json = stringifyFhirJson(o[1]);
    expect(json).toContain('"value":1.50');
    expect(json).toContain('"low":{"value":1.10');
    expect(o[1]!.valueQuantity).toMatchObject({
      unit: 'g/dL',
      system: 'http://unitsofmeasure.org',
      code: 'g/dL',
    });
    expect(o[1]!.interpretation).toEqual([
      {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', code: 'N' }],
      },
    ]);
    expect(o[2]!.code.coding![0]!.system).toBe(`${BASE}/CodeSystem/local/xq-township/obx-3`);
    // The unit is normalised to UCUM whatever the sender's OBX-6.3 says.
    expect(o[2]!.valueQuantity).toMatchObject({
      unit: 'mmol/L',
      system: 'http://unitsofmeasure.org',
      code: 'mmol/L',
    });
    expect(o[3]!.valueString).toBe('淡黄色');
    expect(o[4]!.valueCodeableConcept!.coding).toEqual([
      { system: 'http://snomed.info/sct', code: '27268008', display: 'Salmonella' },
    ]);
    expect(o[4]!.status).toBe('corrected');
    expect(o[5]!.valueString).toBe('第一行\n第二行 & 完');
    expect(o.every((x) => x.status && x.subject?.reference === entries[0]!.fullUrl)).toBe(true);
  });

  it('refuses a NM value that is not a number (102 at OBX-5)', () => {
    try {
      mapHl7(parseHl7(ORU.replace('||12.8|', '||12,8|')), CTX);
      throw new Error('no error');
    } catch (e) {
      expect(e).toBeInstanceOf(MappingError);
      expect((e as MappingError).problems[0]!.hl7).toEqual({
        segment: 'OBX',
        sequence: 3,
        field: 5,
        repetition: 1,
        code: '102',
      });
    }
  });
});
