import { evalFhirPathTyped } from '@medplum/core';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFhirJson } from '../../../src/kernel/fhir-json.ts';
import { loadFhirModel } from '../../../src/repository/fhir-model.ts';
import { compiledParams, type CompiledParam } from '../../../src/repository/index/compile-expressions.ts';
import { extractIndexRows } from '../../../src/repository/index/extract-index.ts';
import { sharedFixture } from '../../support/shared-fixtures.ts';

const model = loadFhirModel();
const BASE = 'http://hie.example/fhir';
/** Every parameter through the FHIRPath evaluator: what the direct path must equal. */
const viaFhirPath = (p: CompiledParam, input: Parameters<typeof evalFhirPathTyped>[1]) =>
  evalFhirPathTyped(p.atom, input);

const sameRows = (resource: Record<string, any>) =>
  expect(extractIndexRows(model, resource, BASE), `${resource.resourceType}/${resource.id}`).toEqual(
    extractIndexRows(model, resource, BASE, viaFhirPath),
  );

/** What the county's systems send, written here: names, nested elements, exact decimals, arrays. */
const OWN: Record<string, any>[] = [
  {
    resourceType: 'Patient',
    id: 'p1',
    meta: { source: 'https://county-hie.org/fhir/institution/cph#1', tag: [{ system: 'urn:t', code: 'x' }] },
    identifier: [
      { system: 'https://county-hie.org/fhir/sid/mrn/cph', value: 'B1', type: { text: '病历号' } },
      { system: 'https://county-hie.org/fhir/sid/national-id', value: '11010519491231002X' },
    ],
    active: true,
    name: [
      { text: '刘芳', family: '刘', given: ['芳'] },
      { use: 'old', family: 'Liu', given: ['Fang', 'F'] },
    ],
    telecom: [
      { system: 'phone', value: '13900000044' },
      { system: 'email', value: 'a@b.cn' },
    ],
    gender: 'female',
    birthDate: '1973-08-16',
    address: [
      { line: ['人民路44号'], city: '湖州市', district: '吴兴区', state: '浙江省', postalCode: '313100' },
    ],
    contact: [{ name: { family: '王', given: ['强'] }, telecom: [{ system: 'phone', value: '1' }] }],
    generalPractitioner: [{ reference: 'Practitioner/d1' }, { reference: `${BASE}/Organization/o1` }],
    managingOrganization: { reference: 'Organization/cph' },
    link: [{ other: { reference: 'Patient/golden' }, type: 'refer' }],
  },
  {
    resourceType: 'Observation',
    id: 'o1',
    status: 'final',
    category: [
      {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' },
        ],
      },
    ],
    code: {
      coding: [{ system: 'http://loinc.org', code: '718-7', display: 'Hemoglobin' }],
      text: '血红蛋白',
    },
    subject: { reference: 'Patient/p1' },
    encounter: { reference: 'Encounter/e1' },
    effectivePeriod: { start: '2026-12-03T08:00:00+08:00', end: '2026-12-03T09:00:00+08:00' },
    performer: [{ reference: 'Practitioner/d1' }, { identifier: { system: 'urn:lab', value: 'L1' } }],
    valueQuantity: { value: 13.5, unit: 'g/dL', system: 'http://unitsofmeasure.org', code: 'g/dL' },
    component: [
      { code: { text: 'systolic' }, valueQuantity: { value: 120, unit: 'mmHg' } },
      { code: { coding: [{ code: 'x' }] }, valueCodeableConcept: { text: 'high' } },
    ],
    basedOn: [{ reference: 'ServiceRequest/s1' }],
  },
  {
    resourceType: 'Encounter',
    id: 'e1',
    status: 'in-progress',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
    subject: { reference: 'Patient/p1' },
    period: { start: '2026-12-01' },
    location: [{ location: { reference: 'Location/ward-3w' } }],
    serviceProvider: { reference: 'Organization/cph' },
    participant: [{ individual: { reference: 'Practitioner/d1' } }],
  },
  // Every kind of value and of reference the casts and `resolve()` meet.
  ...[
    { valueCodeableConcept: { text: '阳性', coding: [{ code: 'POS' }] } },
    { valueString: '阴性', subject: { reference: 'Group/g1' } },
    { valueDateTime: '2026-12-03T08:00:00+08:00', subject: { reference: `${BASE}/Patient/p1` } },
    { valuePeriod: { start: '2026-12-01' }, subject: { reference: '#p' } },
    { valueBoolean: true, subject: { type: 'Patient', identifier: { system: 'urn:mrn', value: 'B1' } } },
    { valueInteger: 3, subject: { reference: 'Patient?identifier=urn:mrn|B1' } },
    { valueSampledData: { origin: { value: 0 }, period: 1, dimensions: 1 }, subject: { display: '无' } },
    { valueRange: { low: { value: 1 } }, subject: { reference: 'Patient/p1/_history/2' } },
    { component: [{ code: { text: 'c' }, valueString: 'x' }, { code: { text: 'd' } }] },
    { valueQuantity: { unit: 'mmol/L' }, subject: { type: 'Patient', display: '只有类型' } },
  ].map((extra, i) => ({
    resourceType: 'Observation',
    id: `o-${i + 2}`,
    status: 'final',
    code: { text: 'x' },
    subject: { reference: 'Patient/p1' },
    ...extra,
  })),
  {
    resourceType: 'Encounter',
    id: 'e2',
    status: 'finished',
    class: { code: 'AMB' },
    subject: { reference: 'http://other.example/fhir/Patient/9' },
    participant: [
      { individual: { reference: 'PractitionerRole/r1' } },
      { individual: { reference: 'Practitioner?identifier=urn:staff|7' } },
      { individual: { type: 'Practitioner', identifier: { value: '8' } } },
      { individual: { reference: 'RelatedPerson/x' } },
    ],
  },
  {
    resourceType: 'Provenance',
    id: 'v1',
    target: [{ reference: 'Patient/p1' }, { reference: 'Observation/o1' }],
    recorded: '2026-12-03T08:00:00Z',
    agent: [{ who: { reference: 'Organization/cph' } }],
    entity: [{ role: 'source', what: { identifier: { value: 'msg-1' } } }],
  },
];

describe('element paths followed without the FHIRPath evaluator', () => {
  it('are found for most parameters, and only where the expression is element names', () => {
    const obs = compiledParams(model, 'Observation');
    expect(obs.filter((p) => p.paths).length).toBeGreaterThan(obs.length / 2);
    expect(obs.find((p) => p.code === 'code')?.paths).toEqual([['code']]);
    expect(obs.find((p) => p.code === 'patient')?.paths).toEqual([['subject', { resolvesTo: 'Patient' }]]);
    expect(obs.find((p) => p.code === 'value-string')?.paths).toEqual([
      ['value', { ofType: 'string' }],
      ['value', { ofType: 'CodeableConcept' }, 'text'],
    ]);
    // Anything more (a `where` on a value, a function) stays with FHIRPath.
    const patient = compiledParams(model, 'Patient');
    expect(patient.find((p) => p.code === 'phone')?.paths).toBeUndefined();
    expect(patient.find((p) => p.code === 'deceased')?.paths).toBeUndefined();
  });

  it("give the same index rows as FHIRPath on the county's own resources", () => {
    for (const r of OWN) sameRows(r);
    // Exact decimals parsed from text, as they arrive.
    sameRows(
      parseFhirJson(
        '{"resourceType":"RiskAssessment","id":"r1","status":"final","subject":{"reference":"Patient/p1"},' +
          '"prediction":[{"probabilityDecimal":0.20}]}',
      ) as Record<string, any>,
    );
  });

  const dir = sharedFixture('fhir-examples/hl7.fhir.r4.examples-4.0.1');
  it.skipIf(!dir)('give the same index rows as FHIRPath on every official R4 example', () => {
    let checked = 0;
    for (const file of readdirSync(dir!).filter((f) => f.endsWith('.json'))) {
      const resource = parseFhirJson(readFileSync(path.join(dir!, file), 'utf8'), 1000) as Record<
        string,
        any
      >;
      const all =
        resource.resourceType === 'Bundle'
          ? [resource, ...(resource.entry ?? []).map((e: any) => e.resource).filter(Boolean)]
          : [resource];
      for (const r of all) {
        if (model.searchParameters(r.resourceType).size === 0) continue;
        sameRows(r);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(300);
  });
});
