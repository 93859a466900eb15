import type { OperationDefinition } from 'fhir/r4';
import { UNMERGE_OPERATION_DEFINITION } from './patient-merge-operations.ts';

/**
 * The OperationDefinition of `Patient/$unmerge`, this exchange's own operation (FHIR has none):
 * for a server that publishes its definitions, and as the reference the CapabilityStatement names.
 */
export function unmergeOperationDefinition(canonicalBase: string): OperationDefinition {
  const param = (
    use: 'in' | 'out',
    name: string,
    min: number,
    max: string,
    type: string,
    documentation: string,
  ) => ({ name, use, min, max, type: type as 'Patient', documentation });
  return {
    resourceType: 'OperationDefinition',
    id: 'Patient-unmerge',
    url: UNMERGE_OPERATION_DEFINITION(canonicalBase),
    name: 'Unmerge',
    title: 'Undo a Patient merge',
    status: 'active',
    kind: 'operation',
    code: 'unmerge',
    resource: ['Patient'],
    system: false,
    type: true,
    instance: false,
    affectsState: true,
    description:
      'Undoes the recorded $merge (or ADT A40) of the source record: both Patients as they were before ' +
      '(or, when written since, without the merge links), the references the merge re-pointed put back ' +
      'where they still point at the target, and the source back in its person. Administrators only.',
    parameter: [
      param('in', 'source-patient', 0, '1', 'Reference', 'The record that was merged away.'),
      param('in', 'source-patient-identifier', 0, '*', 'Identifier', 'Identifiers naming that one record.'),
      param('in', 'preview', 0, '1', 'boolean', 'true: answer what would change, change nothing.'),
      param('out', 'input', 1, '1', 'Parameters', 'The request as given.'),
      param('out', 'outcome', 1, '1', 'OperationOutcome', 'What was (or would be) restored, and what not.'),
      param('out', 'result', 1, '1', 'Patient', 'The former target, without its replaces link.'),
      param('out', 'source', 1, '1', 'Patient', 'The restored source record.'),
    ],
  };
}
