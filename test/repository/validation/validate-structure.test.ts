import { describe, expect, it } from 'vitest';
import { parseFhirJson } from '../../../src/kernel/fhir-json.ts';
import { loadFhirModel } from '../../../src/repository/fhir-model.ts';
import { validateStructure } from '../../../src/repository/validation/index.ts';

const model = loadFhirModel();
const errorsOf = (resource: unknown, pathPrefix?: string) =>
  validateStructure(model, resource as Record<string, unknown>, pathPrefix ? { pathPrefix } : {}).filter(
    (i) => i.severity === 'error',
  );

describe('validateStructure', () => {
  it('accepts a well-formed resource', () => {
    expect(
      errorsOf({
        resourceType: 'Patient',
        name: [{ text: '王秀英' }],
        gender: 'female',
        birthDate: '1950-02-03',
      }),
    ).toEqual([]);
  });

  it.each([
    [{ resourceType: 'Patient', nickname: 'x' }, 'Patient.nickname'],
    [{ resourceType: 'Patient', name: { text: 'x' } }, 'Patient.name'],
    [{ resourceType: 'Patient', birthDate: '1950-02-30' }, 'Patient.birthDate'],
    [{ resourceType: 'Observation', code: { text: 'x' } }, 'Observation.status'],
    [{ resourceType: 'Patient', name: [{ family: '' }] }, 'Patient.name[0].family'],
    [{ resourceType: 'Patient', name: [{ text: 'a\ud800b' }] }, 'Patient.name[0].text'],
    [{ resourceType: 'Patient', name: [{ text: 'a\u0000b' }] }, 'Patient.name[0].text'],
    [{ resourceType: 'Patient', multipleBirthInteger: 2147483648 }, 'Patient.multipleBirthInteger'],
    [{ resourceType: 'Patient', multipleBirthInteger: 1.5 }, 'Patient.multipleBirthInteger'],
  ])('reports %j at %s', (resource, expression) => {
    const errors = errorsOf(resource);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.flatMap((e) => e.expression ?? [])).toContain(expression);
  });

  it('checks integers inside backbone elements and beyond 2^53, kept as exact text', () => {
    const obs = parseFhirJson(
      '{"resourceType":"Observation","status":"final","code":{"text":"ecg"},"valueSampledData":{"origin":{"value":0},"period":1,"dimensions":90071992547409930,"data":"1 2"}}',
    );
    const errors = errorsOf(obs);
    expect(errors[0]?.expression).toEqual(['Observation.valueSampledData.dimensions']);
    expect(errors[0]?.diagnostics).toContain('90071992547409930');
  });

  it('keeps exact decimals valid', () => {
    const obs = parseFhirJson(
      '{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1.50}}',
    );
    expect(errorsOf(obs)).toEqual([]);
  });

  it('names the element inside a Bundle entry when given a prefix', () => {
    const errors = errorsOf(
      { resourceType: 'Patient', gender: 'female', colour: 'x' },
      'Bundle.entry[3].resource',
    );
    expect(errors.flatMap((e) => e.expression ?? [])).toContain('Bundle.entry[3].resource.colour');
  });

  it('refuses a type that is not R4', () => {
    expect(errorsOf({ resourceType: 'SubscriptionStatus' })[0]?.expression).toEqual([
      'SubscriptionStatus.resourceType',
    ]);
    expect(errorsOf({ resourceType: 'Banana' })[0]?.diagnostics).toMatch(/not an R4 resource type/);
  });
});

describe('required bindings', () => {
  it('refuses a code outside its required value set and names the allowed codes', () => {
    const errors = errorsOf({ resourceType: 'Patient', gender: 'robot' });
    expect(errors).toHaveLength(1);
    expect(errors[0]?.expression).toEqual(['Patient.gender']);
    expect(errors[0]?.diagnostics).toMatch(/administrative-gender.*female/);
  });
  it('checks codes in backbone elements and accepts the allowed ones', () => {
    const contact = (gender: string) => ({
      resourceType: 'Patient',
      contact: [{ name: { text: '王' }, gender }],
    });
    expect(errorsOf(contact('unknown'))).toEqual([]);
    expect(errorsOf(contact('x'))[0]?.expression).toEqual(['Patient.contact[0].gender']);
    expect(
      errorsOf({ resourceType: 'Observation', status: 'done', code: { text: 'x' } })[0]?.expression,
    ).toEqual(['Observation.status']);
  });
});
