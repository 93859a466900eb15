import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';
import { validateResource as medplumValidate } from '@medplum/core';
import { describe, expect, it } from 'vitest';
import { NATIONAL_ID_CHECK_DIGIT } from '../../profiles/build/region-profiles.ts';
import { loadFhirModel } from '../../src/repository/fhir-model.ts';
import { knownProfiles } from '../../src/validate/index.ts';
import { nationalIdCheckDigitHolds } from '../../src/validate/invariants.ts';

// Loads the base R4 definitions into Medplum's type map as well.
loadFhirModel();

describe('the national-ID check-digit invariant', () => {
  const shipped = knownProfiles()
    .forType('Patient')!
    .snapshot!.element.flatMap((e) => e.constraint ?? [])
    .find((c) => c.key === 'hie-nid-2');

  it('is shipped in the Patient profile as FHIRPath, with severity warning', () => {
    expect(shipped?.severity).toBe('warning');
    expect(shipped?.expression).toBe(NATIONAL_ID_CHECK_DIGIT);
  });

  it('its plain-code form answers as the FHIRPath does', () => {
    const compiled = fhirpath.compile({ base: 'Patient.identifier', expression: shipped!.expression! }, r4);
    const ids = [
      '11010519491231002X', // valid, trailing X
      '440304198506122014', // valid
      '110105194912310021', // wrong check digit
      '440304198506122015', // wrong check digit
      '44030419850612201X', // X where a digit belongs
      '440304850612201', // 15-digit legacy: no check digit, not this invariant's concern
      '4403041985061220', // malformed: another invariant's concern
      '11010519491231002x', // lower-case x: the mapping normalises it first
    ];
    for (const value of ids) {
      const identifier = { system: 'urn:oid:2.16.156.10011.1.3', value };
      expect(nationalIdCheckDigitHolds(identifier), value).toBe(
        (compiled(identifier) as unknown[])[0] === true,
      );
    }
    expect(ids.map((value) => nationalIdCheckDigitHolds({ value }))).toEqual([
      true,
      true,
      false,
      false,
      false,
      true,
      true,
      true,
    ]);
  });
});

describe('the direct profile check and Medplum agree on the shipped profiles', () => {
  // (Not a narrowed choice type: Medplum 4.5.2 accepts Immunization.occurrenceString under a
  // profile allowing only dateTime; region-profiles.test.ts shows the direct check refuses it.)
  it('Medplum, given the profile, also refuses what the direct check refuses', () => {
    const cases: [string, Record<string, unknown>][] = [
      ['Practitioner', {}],
      [
        'Encounter',
        {
          status: 'finished',
          class: { code: 'AMB' },
          subject: { reference: 'Patient/p' },
          period: { start: '2026-01-01' },
        },
      ],
      [
        'Patient',
        {
          name: [{ text: '王' }],
          gender: 'female',
          identifier: [
            { system: 'urn:oid:2.16.156.10011.1.3', value: '11010519491231002X' },
            { system: 'urn:oid:2.16.156.10011.1.3', value: '440304198506122014' },
          ],
        },
      ],
    ];
    for (const [type, body] of cases) {
      const sd = knownProfiles().forType(type)!;
      const resource = { resourceType: type, ...body };
      expect(() => medplumValidate(resource as never), type).not.toThrow();
      expect(() => medplumValidate(resource as never, { profile: sd as never }), type).toThrow();
    }
  });
});
