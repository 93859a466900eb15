/**
 * Validation beyond the repository's door check: the region's profiles (`profiles/`), the
 * national-ID verification, and the `$validate` operation. Used by `/fhir/$validate`,
 * `hie profile validate` and (with the mapping issue) the ingestion pipeline.
 */
export { claimedProfileIssues, validateResource, type ValidateResourceOptions } from './validate-resource.ts';
export { tagUnverifiedNationalIds, verificationExtensionUrl } from './unverified-tag.ts';
export { withSnapshot } from './snapshot-unfold.ts';
export {
  DEFAULT_PROFILES_DIR,
  ProfileLoadError,
  createProfileRegistry,
  knownProfiles,
  loadProfileRegistry,
  type ProfileProblem,
  type ProfileRegistry,
} from './profile-registry.ts';
export { nationalIdIssues } from './national-id-issues.ts';
export { profileIssues } from './profile-check.ts';
export {
  VALIDATE_OPERATION_DEFINITION,
  validateCapabilityOperations,
  validateOperation,
} from './validate-operation.ts';
