import type { StructureDefinition } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { compileDifferential } from '../../src/validate/differential-check.ts';
import { birthDateRequiredProfile } from './test-profile.ts';

const BIRTH_PLACE = 'http://hl7.org/fhir/StructureDefinition/patient-birthPlace';

/**
 * A Patient profile requiring one extension slice that, like the IPS profiles' data-absent-reason
 * slices, fixes no `url` element: the slice's url comes from the extension profile its type names.
 */
function birthPlaceRequired(): StructureDefinition {
  const sd = birthDateRequiredProfile();
  const elements = sd.snapshot!.element;
  const extension = elements.find((e) => e.id === 'Patient.extension')!;
  extension.slicing = { discriminator: [{ type: 'value', path: 'url' }], rules: 'open' };
  const at = elements.indexOf(extension) + 1;
  elements.splice(at, 0, {
    id: 'Patient.extension:birthPlace',
    path: 'Patient.extension',
    sliceName: 'birthPlace',
    min: 1,
    max: '1',
    type: [{ code: 'Extension', profile: [`${BIRTH_PLACE}|4.0.1`] }],
  });
  return sd;
}

describe('an extension slice whose url is given by its type profile', () => {
  const check = compileDifferential(birthPlaceRequired());

  it('compiles, and counts only extensions with that url toward the slice', () => {
    expect(check).toBeDefined();
    const patient = { resourceType: 'Patient', birthDate: '1950-01-01' };
    const missing = check!(patient, 'Patient');
    expect(missing.map((i) => [i.expression?.[0], i.diagnostics])).toEqual([
      [
        'Patient.extension',
        expect.stringContaining('slice birthPlace of extension: at least 1 required, found 0'),
      ],
    ]);

    const other = { ...patient, extension: [{ url: 'http://example.org/other', valueString: 'x' }] };
    expect(check!(other, 'Patient')).toHaveLength(1);

    const present = {
      ...patient,
      extension: [{ url: BIRTH_PLACE, valueAddress: { city: '南城县' } }],
    };
    expect(check!(present, 'Patient')).toEqual([]);
  });
});
