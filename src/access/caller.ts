import type { AuthContext } from '../auth/verify-token.ts';

/**
 * Who is asking, as the access policy sees it (CONTRACTS "Tokens and roles"):
 * - `full`: the operator (`admin`) and the pipeline's writer (`worker`) see everything;
 * - `person`: a resident with a `patient` claim sees their own person's records;
 * - `clinician`: a clinician of an institution sees persons by care relationship,
 *   break-the-glass and consent (one who is also privacy officer also sees its institution's
 *   AuditEvents);
 * - `privacy-officer`: reviews access for its institution — its AuditEvents, break-the-glass
 *   grants and access histories — and reads no clinical records;
 * - `institution`: a member system sees what it wrote (`meta.source` names it);
 * - `none`: a token with neither sees only directory and conformance resources.
 * Roles are read from the token only; a role the policy does not know grants nothing.
 */
export type CallerKind = 'full' | 'person' | 'clinician' | 'privacy-officer' | 'institution' | 'none';

export interface Caller {
  kind: CallerKind;
  issuer: string;
  subject: string;
  institution?: string;
  /** The practitioner's id (from `fhirUser = Practitioner/{id}`), for contracts and care teams. */
  practitioner?: string;
  /** The person token's Patient id. */
  patient?: string;
  privacyOfficer: boolean;
}

export function callerOf(auth: AuthContext): Caller {
  const base = {
    issuer: auth.issuer,
    subject: auth.subject,
    privacyOfficer: auth.roles.has('privacy-officer'),
    ...(auth.institution ? { institution: auth.institution } : {}),
  };
  if (auth.roles.has('admin') || auth.roles.has('worker')) return { ...base, kind: 'full' };
  if (auth.patient !== undefined) return { ...base, kind: 'person', patient: auth.patient };
  if (auth.roles.has('clinician') && auth.institution) {
    const practitioner = /^Practitioner\/([A-Za-z0-9\-.]{1,64})$/.exec(auth.fhirUser ?? '')?.[1];
    return { ...base, kind: 'clinician', ...(practitioner ? { practitioner } : {}) };
  }
  if (auth.roles.has('privacy-officer') && auth.institution) return { ...base, kind: 'privacy-officer' };
  if (auth.institution) return { ...base, kind: 'institution' };
  return { ...base, kind: 'none' };
}

/**
 * Resource types that hold no one's personal data: the directory (institutions, practitioners)
 * and conformance and terminology resources. Every other type is personal data — also when it
 * names no patient (a stored Bundle, an Observation without subject), which then only its
 * owning institution and the operator see.
 */
export const PUBLIC_TYPES: readonly string[] = [
  'Organization',
  'Practitioner',
  'PractitionerRole',
  'Location',
  'HealthcareService',
  'Endpoint',
  'CodeSystem',
  'ValueSet',
  'ConceptMap',
  'NamingSystem',
  'StructureDefinition',
  'StructureMap',
  'OperationDefinition',
  'SearchParameter',
  'CompartmentDefinition',
  'CapabilityStatement',
  'TerminologyCapabilities',
  'ImplementationGuide',
  'Medication',
  'MedicationKnowledge',
  'Substance',
  'ActivityDefinition',
  'PlanDefinition',
  'Questionnaire',
  'Library',
  'ObservationDefinition',
  'SpecimenDefinition',
];
