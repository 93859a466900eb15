import type { Queryable } from '../../db/database.ts';
import type { OperationHandler } from '../../repository/router/fhir-router.ts';
import type { FhirRepository } from '../../repository/store/fhir-repository.ts';
import type { MatchRules } from '../match/rules.ts';
import { inProcessPatients } from '../workflow/in-process-patients.ts';
import { ihePixOperation, patientsByIdentifier } from './ihe-pix.ts';
import { patientMatchOperation } from './patient-match.ts';

export { ihePixOperation, patientsByIdentifier } from './ihe-pix.ts';
export { matchProbability, patientMatchOperation } from './patient-match.ts';

/** `Patient/$match` and `Patient/$ihe-pix` for the FHIR router's operations map, over the repository. */
export function identityOperations(deps: {
  db: Queryable;
  rules: MatchRules;
  canonicalBase: string;
  repo: FhirRepository;
}): [string, OperationHandler][] {
  const patients = inProcessPatients(deps.repo);
  const common = {
    db: deps.db,
    canonicalBase: deps.canonicalBase,
    fhirBaseUrl: deps.repo.baseUrl,
    readPatient: patients.find,
  };
  return [
    ['Patient/$match', patientMatchOperation({ ...common, rules: deps.rules })],
    ['Patient/$ihe-pix', ihePixOperation({ ...common, findPatients: patientsByIdentifier(deps.repo) })],
  ];
}

/** The CapabilityStatement entries (`buildCapabilityStatement`'s `operations` option). */
export function identityCapabilityOperations(): { name: string; definition: string; resourceType: string }[] {
  return [
    {
      name: 'match',
      definition: 'http://hl7.org/fhir/OperationDefinition/Patient-match',
      resourceType: 'Patient',
    },
    {
      name: 'ihe-pix',
      definition: 'https://profiles.ihe.net/ITI/PIXm/OperationDefinition/IHE.PIXm.pix',
      resourceType: 'Patient',
    },
  ];
}
