import { describe, expect, it } from 'vitest';
import { parseFhirJson } from '../../../src/kernel/fhir-json.ts';
import { loadFhirModel } from '../../../src/repository/fhir-model.ts';
import { validateStructure } from '../../../src/repository/validation/index.ts';

// Each case names the exact place (`expression`) and message: the walker builds the path only
// when it reports, so these pin down that the lazily built path is the right one, deep inside.

const model = loadFhirModel();
const places = (resource: unknown, pathPrefix?: string) =>
  validateStructure(model, resource as Record<string, unknown>, pathPrefix ? { pathPrefix } : {}).map((i) => [
    i.expression?.[0],
    i.diagnostics,
  ]);
const observation = (rest: Record<string, unknown>) => ({
  resourceType: 'Observation',
  status: 'final',
  code: { text: 'hb' },
  ...rest,
});

describe('dates', () => {
  it('refuses days the calendar does not have, at any depth', () => {
    expect(
      places(observation({ effectivePeriod: { start: '2023-02-29', end: '2023-04-31T10:00:00+08:00' } })),
    ).toEqual([
      ['Observation.effectivePeriod.start', '"2023-02-29" is not a valid dateTime (no such day)'],
      [
        'Observation.effectivePeriod.end',
        '"2023-04-31T10:00:00+08:00" is not a valid dateTime (no such day)',
      ],
    ]);
    expect(places(observation({ issued: '1900-02-29T00:00:00Z' }))).toEqual([
      ['Observation.issued', '"1900-02-29T00:00:00Z" is not a valid instant (no such day)'],
    ]);
  });

  it('accepts leap days of leap years and partial dates', () => {
    expect(places({ resourceType: 'Patient', birthDate: '2024-02-29' })).toEqual([]);
    expect(places({ resourceType: 'Patient', birthDate: '2000-02-29' })).toEqual([]);
    expect(places({ resourceType: 'Patient', birthDate: '1950-02' })).toEqual([]);
    expect(places(observation({ effectiveDateTime: '2026' }))).toEqual([]);
  });

  it('refuses a date in the wrong format before asking about the calendar', () => {
    expect(places({ resourceType: 'Patient', birthDate: '2020-13' })).toEqual([
      ['Patient.birthDate', '"2020-13" is not a valid date'],
    ]);
    expect(places(observation({ issued: '2020-01-01' }))).toEqual([
      ['Observation.issued', '"2020-01-01" is not a valid instant'],
    ]);
  });
});

describe('numbers', () => {
  it('refuses a decimal sent as text and keeps an exact one', () => {
    expect(places(observation({ valueQuantity: { value: '1.5', unit: 'g/L' } }))).toEqual([
      ['Observation.valueQuantity.value', 'Expected a number, got a string'],
    ]);
    const exact = parseFhirJson(
      '{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":0.10}}',
    );
    expect(places(exact)).toEqual([]);
  });

  it('checks each integer type against its own range', () => {
    expect(
      places(
        observation({
          component: [
            { code: { text: 'a' }, valueInteger: -1 },
            { code: { text: 'b' }, valueInteger: 2.5 },
          ],
        }),
      ),
    ).toEqual([
      [
        'Observation.component[1].valueInteger',
        '2.5 is not a valid integer (a whole number from -2147483648 to 2147483647)',
      ],
    ]);
    expect(places({ resourceType: 'Patient', multipleBirthInteger: '2' })).toEqual([
      ['Patient.multipleBirthInteger', 'Expected a whole number (integer), got a string'],
    ]);
    const sampled = (period: number, dimensions: number) =>
      observation({ valueSampledData: { origin: { value: 0 }, period, dimensions, data: '1' } });
    expect(places(sampled(1, 0))).toEqual([
      [
        'Observation.valueSampledData.dimensions',
        '0 is not a valid positiveInt (a whole number from 1 to 2147483647)',
      ],
    ]);
    expect(places(sampled(1, 2147483647))).toEqual([]);
  });
});

describe('elements', () => {
  it('names an unknown element deep inside backbone and data types', () => {
    expect(
      places({ resourceType: 'Patient', contact: [{ name: { text: '王', nickname: '小王' } }] }),
    ).toEqual([['Patient.contact[0].name.nickname', 'Unknown element "nickname"']]);
  });

  it('treats property names of plain JavaScript objects as unknown elements', () => {
    expect(places({ resourceType: 'Patient', constructor: 'x', name: [{ toString: 'y' }] })).toEqual([
      ['Patient.constructor', 'Unknown element "constructor"'],
      ['Patient.name[0].toString', 'Unknown element "toString"'],
    ]);
  });

  it('refuses a choice of a type the element does not allow, and two choices of one [x]', () => {
    expect(places(observation({ valueAge: { value: 3 } }))).toEqual([
      ['Observation.valueAge', 'Unknown element "valueAge"'],
    ]);
    expect(places(observation({ valueString: 'a', valueBoolean: true, valueInteger: 1 }))).toEqual([
      ['Observation.valueBoolean', 'Only one of valueString and valueBoolean may be present (value[x])'],
      ['Observation.valueInteger', 'Only one of valueBoolean and valueInteger may be present (value[x])'],
    ]);
    expect(places(observation({ valueBoolean: 'yes' }))).toEqual([
      ['Observation.valueBoolean', 'Expected true or false, got a string'],
    ]);
  });

  it('reports cardinality and shape errors deep in nested elements', () => {
    expect(
      places(
        observation({
          component: [
            { code: { text: 'a' } },
            { valueString: 'no code' },
            { code: { text: 'c', coding: { code: 'x' } } },
          ],
        }),
      ),
    ).toEqual([
      ['Observation.component[1].code', 'Missing required element code'],
      ['Observation.component[2].code.coding', 'Expected an array for coding'],
    ]);
    expect(places({ resourceType: 'Patient', name: [{ given: [] }, { text: ['a'] }] })).toEqual([
      ['Patient.name[0].given', 'Empty array for given (leave the element out)'],
      ['Patient.name[1].text', 'Expected a single value for text, not an array'],
    ]);
  });

  it('reports a required choice by its base name', () => {
    expect(
      places({
        resourceType: 'MedicationAdministration',
        status: 'completed',
        subject: { reference: 'Patient/1' },
      }),
    ).toEqual([
      ['MedicationAdministration.medication', 'Missing required element medication[x]'],
      ['MedicationAdministration.effective', 'Missing required element effective[x]'],
    ]);
  });

  it('refuses an empty element (ele-1) where it is', () => {
    expect(places({ resourceType: 'Patient', name: [{ text: 'a' }, {}] })).toEqual([
      ['Patient.name[1]', 'An element must have a value or children (ele-1)'],
    ]);
  });
});

describe('nulls and primitive extensions', () => {
  it('allows null in a primitive array only where the extension array fills it', () => {
    expect(
      places({
        resourceType: 'Patient',
        name: [{ given: ['a', null], _given: [null, { extension: [{ url: 'u', valueString: 'b' }] }] }],
      }),
    ).toEqual([]);
    expect(places({ resourceType: 'Patient', name: [{ given: ['a', null] }] })).toEqual([
      ['Patient.name[0].given[1]', 'null is not a FHIR value'],
    ]);
  });

  it('walks the extensions of a primitive', () => {
    expect(
      places({
        resourceType: 'Patient',
        birthDate: '1950-01-01',
        _birthDate: { extension: [{ url: 'u', valueString: '' }] },
      }),
    ).toEqual([
      [
        'Patient._birthDate.extension[0].valueString',
        'Empty strings are not allowed in FHIR; omit the element',
      ],
    ]);
    expect(places({ resourceType: 'Patient', _birthDate: 'x' })).toEqual([
      ['Patient._birthDate', 'Expected an object with id/extension'],
    ]);
  });
});

describe('strings', () => {
  it('reports a string problem once, in place of the format problem at the same place', () => {
    expect(places({ resourceType: 'Patient', gender: '' })).toEqual([
      ['Patient.gender', 'Empty strings are not allowed in FHIR; omit the element'],
    ]);
    expect(places({ resourceType: 'Patient', birthDate: '1950\u0000' })).toEqual([
      ['Patient.birthDate', 'The string holds a NUL character (U+0000)'],
    ]);
  });

  it('checks the strings inside unknown elements and values of the wrong type too', () => {
    expect(places({ resourceType: 'Patient', extra: { a: [''] }, gender: { text: 'a\ud800' } })).toEqual([
      ['Patient.extra.a[0]', 'Empty strings are not allowed in FHIR; omit the element'],
      ['Patient.gender.text', 'The string holds a lone UTF-16 surrogate (not valid Unicode text)'],
      ['Patient.extra', 'Unknown element "extra"'],
      ['Patient.gender', 'Expected a string (code), got an object'],
    ]);
  });

  it('names the object that holds a property name with a lone surrogate', () => {
    expect(places({ resourceType: 'Patient', name: [{ 'x\ud800': '' }] })).toEqual([
      ['Patient.name[0]', 'A property name holds a lone surrogate'],
      ['Patient.name[0].x\ud800', 'Unknown element "x\ud800"'],
    ]);
  });
});

describe('nested resources', () => {
  it('walks contained resources and Bundle entries with their own paths', () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        { resource: { resourceType: 'Patient', gender: 'female' } },
        {
          resource: {
            resourceType: 'Patient',
            id: 'a b',
            contained: [{ resourceType: 'Observation', code: { text: 'x' } }, { resourceType: 'Banana' }],
          },
        },
      ],
    };
    expect(places(bundle, 'Bundle')).toEqual([
      ['Bundle.entry[1].resource.id', '"a b" is not a valid id (1-64 of A-Z a-z 0-9 - .)'],
      ['Bundle.entry[1].resource.contained[0].status', 'Missing required element status'],
      ['Bundle.entry[1].resource.contained[1].resourceType', '"Banana" is not an R4 resource type'],
    ]);
  });
});

describe('required bindings from the HL7 v3 definitions', () => {
  it('checks Composition.confidentiality against v3 ConfidentialityClassification', () => {
    const composition = (confidentiality: string) => ({
      resourceType: 'Composition',
      status: 'final',
      type: { text: 'discharge summary' },
      date: '2026-11-01',
      author: [{ reference: 'Practitioner/1' }],
      title: '出院小结',
      confidentiality,
    });
    expect(places(composition('N'))).toEqual([]);
    const [issue, ...rest] = places(composition('Q'));
    expect(rest).toEqual([]);
    expect(issue?.[0]).toBe('Composition.confidentiality');
    expect(issue?.[1]).toMatch(/v3-ConfidentialityClassification \(one of .*\bR\b/);
  });
});
