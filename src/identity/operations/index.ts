import type { TokenVerifier } from '../../auth/verify-token.ts';
import type { Queryable } from '../../db/database.ts';
import type { OperationHandler } from '../../repository/router/fhir-router.ts';
import type { FhirRepository } from '../../repository/store/fhir-repository.ts';
import { createIdentityLinker } from '../linker.ts';
import type { MatchRules } from '../match/rules.ts';
import { createPatientMerger } from '../merge/patient-merge.ts';
import { inProcessPatients } from '../workflow/in-process-patients.ts';
import { ihePixOperation, patientsByIdentifier } from './ihe-pix.ts';
import { patientMatchOperation } from './patient-match.ts';
import {
  MERGE_OPERATION_DEFINITION,
  patientMergeOperation,
  patientUnmergeOperation,
  UNMERGE_OPERATION_DEFINITION,
} from './patient-merge-operations.ts';

export { ihePixOperation, patientsByIdentifier } from './ihe-pix.ts';
export { matchProbability, patientMatchOperation } from './patient-match.ts';
export { patientMergeOperation, patientUnmergeOperation } from './patient-merge-operations.ts';
export { unmergeOperationDefinition } from './unmerge-definition.ts';

const DEFAULT_CANONICAL_BASE = 'https://county-hie.org/fhir';

/**
 * `Patient/$match`, `Patient/$ihe-pix`, `Patient/$merge` and `Patient/$unmerge` for the FHIR
 * router's operations map, over the repository. The merge operations check the caller's token
 * with `verifier` (administrators only); without it they refuse everyone.
 */
export function identityOperations(deps: {
  db: Queryable;
  rules: MatchRules;
  canonicalBase: string;
  repo: FhirRepository;
  verifier?: TokenVerifier;
}): [string, OperationHandler][] {
  const patients = inProcessPatients(deps.repo);
  const common = {
    db: deps.db,
    canonicalBase: deps.canonicalBase,
    fhirBaseUrl: deps.repo.baseUrl,
    readPatient: patients.find,
  };
  const findPatients = patientsByIdentifier(deps.repo);
  // Golden records are rewritten in process after a merge, as the review workflow does it.
  const linker = createIdentityLinker({
    db: deps.repo.db,
    rules: deps.rules,
    canonicalBase: deps.canonicalBase,
    repository: patients,
  });
  const merges = {
    merger: createPatientMerger({ repo: deps.repo, canonicalBase: deps.canonicalBase, linker }),
    canonicalBase: deps.canonicalBase,
    fhirBaseUrl: deps.repo.baseUrl,
    findPatients,
    ...(deps.verifier ? { verifier: deps.verifier } : {}),
  };
  return [
    ['Patient/$match', patientMatchOperation({ ...common, rules: deps.rules })],
    ['Patient/$ihe-pix', ihePixOperation({ ...common, findPatients })],
    ['Patient/$merge', patientMergeOperation(merges)],
    ['Patient/$unmerge', patientUnmergeOperation(merges)],
  ];
}

/** The CapabilityStatement entries (`buildCapabilityStatement`'s `operations` option). */
export function identityCapabilityOperations(
  canonicalBase: string = DEFAULT_CANONICAL_BASE,
): { name: string; definition: string; resourceType: string }[] {
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
    // R5's operation, backported: R4 has no $merge of its own.
    { name: 'merge', definition: MERGE_OPERATION_DEFINITION, resourceType: 'Patient' },
    { name: 'unmerge', definition: UNMERGE_OPERATION_DEFINITION(canonicalBase), resourceType: 'Patient' },
  ];
}
