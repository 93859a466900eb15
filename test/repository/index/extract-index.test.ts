import { describe, expect, it } from 'vitest';
import { parseFhirJson } from '../../../src/kernel/fhir-json.ts';
import { loadFhirModel } from '../../../src/repository/fhir-model.ts';
import { narrowExpression } from '../../../src/repository/index/compile-expressions.ts';
import { dateRange } from '../../../src/repository/index/date-range.ts';
import { extractIndexRows } from '../../../src/repository/index/extract-index.ts';

const model = loadFhirModel();
const BASE = 'http://hie.example/fhir';

describe('narrowExpression', () => {
  it('keeps the parts of a shared union that apply to the type', () => {
    const expr =
      'AllergyIntolerance.patient | CarePlan.subject.where(resolve() is Patient) | Observation.subject.where(resolve() is Patient)';
    expect(narrowExpression(expr, 'Observation')).toBe('Observation.subject.where(resolve() is Patient)');
    expect(narrowExpression(expr, 'Patient')).toBeUndefined();
  });
  it('rewrites Resource-level paths to the type and keeps parenthesised parts', () => {
    expect(narrowExpression('Resource.meta.tag', 'Encounter')).toBe('Encounter.meta.tag');
    expect(
      narrowExpression('(Observation.value as Quantity) | (Observation.value as SampledData)', 'Observation'),
    ).toBe('(Observation.value as Quantity) | (Observation.value as SampledData)');
  });
});

describe('dateRange', () => {
  it('turns each precision into the closed range it covers, in UTC', () => {
    expect(dateRange('2024')).toEqual({ lo: '2024-01-01T00:00:00.000Z', hi: '2024-12-31T23:59:59.999Z' });
    expect(dateRange('2024-02')).toEqual({ lo: '2024-02-01T00:00:00.000Z', hi: '2024-02-29T23:59:59.999Z' });
    expect(dateRange('2023-02-28')).toEqual({
      lo: '2023-02-28T00:00:00.000Z',
      hi: '2023-02-28T23:59:59.999Z',
    });
    expect(dateRange('2024-03-05T08:30:00+08:00')).toEqual({
      lo: '2024-03-05T00:30:00.000Z',
      hi: '2024-03-05T00:30:00.999Z',
    });
    expect(dateRange('2024-03-05T08:30:00.250Z')).toEqual({
      lo: '2024-03-05T08:30:00.250Z',
      hi: '2024-03-05T08:30:00.250Z',
    });
  });
  it('refuses what is not a date', () => {
    for (const bad of ['2023-02-29', '2024-13', '24-01-01', 'yesterday', '2024-04-31'])
      expect(dateRange(bad)).toBeUndefined();
  });
});

describe('extractIndexRows', () => {
  it('indexes an Observation: references, compartment, codes, time, exact quantity, meta', () => {
    const obs = parseFhirJson(
      JSON.stringify({
        resourceType: 'Observation',
        id: 'o1',
        meta: {
          tag: [{ system: 'urn:t', code: 'demo' }],
          profile: ['http://p/bp'],
          source: 'https://county-hie.org/fhir/institution/x#1',
        },
        status: 'final',
        category: [
          {
            coding: [
              { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' },
            ],
          },
        ],
        code: {
          coding: [{ system: 'http://loinc.org', code: '8480-6', display: 'Systolic blood pressure' }],
          text: '收缩压',
        },
        subject: { reference: 'Patient/p1' },
        performer: [
          { reference: `${BASE}/Practitioner/d1` },
          { reference: 'https://elsewhere.example/Practitioner/z' },
        ],
        effectiveDateTime: '2024-03-05T08:30:00+08:00',
      }).replace(
        '"effectiveDateTime"',
        '"valueQuantity":{"value":141.50,"unit":"mmHg","system":"http://unitsofmeasure.org","code":"mm[Hg]"},"effectiveDateTime"',
      ),
    ) as Record<string, any>;
    const rows = extractIndexRows(model, obs, BASE);
    expect(rows.compartments).toEqual(['p1']);
    expect(rows.reference).toContainEqual({
      code: 'subject',
      targetType: 'Patient',
      targetId: 'p1',
      url: null,
    });
    expect(rows.reference).toContainEqual({
      code: 'patient',
      targetType: 'Patient',
      targetId: 'p1',
      url: null,
    });
    expect(rows.reference).toContainEqual({
      code: 'performer',
      targetType: 'Practitioner',
      targetId: 'd1',
      url: null,
    });
    expect(rows.reference).toContainEqual({
      code: 'performer',
      targetType: null,
      targetId: null,
      url: 'https://elsewhere.example/Practitioner/z',
    });
    expect(rows.token).toContainEqual({
      code: 'code',
      system: 'http://loinc.org',
      value: '8480-6',
      text: 'Systolic blood pressure',
    });
    expect(rows.token).toContainEqual({ code: 'status', system: null, value: 'final', text: null });
    expect(rows.token).toContainEqual({ code: '_tag', system: 'urn:t', value: 'demo', text: null });
    expect(rows.uri).toContainEqual({ code: '_profile', value: 'http://p/bp' });
    expect(rows.uri).toContainEqual({
      code: '_source',
      value: 'https://county-hie.org/fhir/institution/x#1',
    });
    expect(rows.date).toContainEqual({
      code: 'date',
      lo: '2024-03-05T00:30:00.000Z',
      hi: '2024-03-05T00:30:00.999Z',
    });
    // 141.50 keeps its trailing zero: the index compares numerically, the text is exact.
    expect(rows.quantity).toContainEqual({
      code: 'value-quantity',
      value: '141.50',
      system: 'http://unitsofmeasure.org',
      unit: 'mm[Hg]',
    });
    expect(rows.quantity).toContainEqual({
      code: 'value-quantity',
      value: '141.50',
      system: null,
      unit: 'mmHg',
    });
    // `_id` is answered by the resource table, never duplicated in the index.
    expect(rows.token.some((t) => t.code === '_id')).toBe(false);
  });

  it('indexes a Patient with a Chinese name for prefix and one-character :contains search', () => {
    const rows = extractIndexRows(
      model,
      {
        resourceType: 'Patient',
        id: 'p1',
        identifier: [{ system: 'urn:oid:2.16.156.10011.1.3', value: '11010519491231002X' }],
        name: [{ text: '欧阳秀英' }],
        gender: 'female',
        birthDate: '1949-12-31',
        telecom: [{ system: 'phone', value: '13800138000' }],
        managingOrganization: { reference: 'Organization/county-peoples-hospital' },
        generalPractitioner: [{ identifier: { system: 'urn:doc', value: 'D7' } }],
      },
      BASE,
    );
    expect(rows.compartments).toEqual(['p1']);
    const name = rows.string.find((s) => s.code === 'name');
    expect(name).toMatchObject({ norm: '欧阳秀英', exact: '欧阳秀英' });
    expect(name!.grams).toEqual(expect.arrayContaining(['秀', '秀英', '欧阳']));
    expect(rows.token).toContainEqual({
      code: 'identifier',
      system: 'urn:oid:2.16.156.10011.1.3',
      value: '11010519491231002X',
      text: null,
    });
    expect(rows.token).toContainEqual({ code: 'gender', system: null, value: 'female', text: null });
    expect(rows.token).toContainEqual({ code: 'phone', system: null, value: '13800138000', text: null });
    expect(rows.token).toContainEqual({
      code: 'general-practitioner:identifier',
      system: 'urn:doc',
      value: 'D7',
      text: null,
    });
    expect(rows.date).toContainEqual({
      code: 'birthdate',
      lo: '1949-12-31T00:00:00.000Z',
      hi: '1949-12-31T23:59:59.999Z',
    });
    expect(rows.reference).toContainEqual({
      code: 'organization',
      targetType: 'Organization',
      targetId: 'county-peoples-hospital',
      url: null,
    });
  });

  it('indexes an open-ended Period and a resource in no compartment', () => {
    const rows = extractIndexRows(model, {
      resourceType: 'Encounter',
      id: 'e1',
      status: 'in-progress',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
      subject: { reference: 'Group/g1' },
      period: { start: '2024-05-01' },
    });
    expect(rows.date).toContainEqual({ code: 'date', lo: '2024-05-01T00:00:00.000Z', hi: 'infinity' });
    expect(rows.compartments).toEqual([]);
  });

  it('cuts very long text so PostgreSQL B-tree entries stay within their limit', () => {
    const long = '长'.repeat(5000);
    const rows = extractIndexRows(model, { resourceType: 'Organization', id: 'x', name: long });
    const name = rows.string.find((s) => s.code === 'name')!;
    expect(Array.from(name.norm).length).toBe(600);
    expect(Buffer.byteLength(name.norm)).toBeLessThan(2700);
  });
});
