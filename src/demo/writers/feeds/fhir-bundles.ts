import type { CareEvent, InstitutionWriter, Registration } from '../../types.ts';
import {
  contractResources,
  fhirId,
  immunizationResources,
  labReportResources,
  patientResource,
  readReportResources,
  referralResources,
  visitResources,
  type FhirContext,
} from './fhir-resources.ts';
import {
  institutionProfile,
  ndjson,
  practitioner,
  practitionerByStaffNo,
  registrationOf,
  renderedFile,
} from './shared.ts';

/**
 * The canonical base the identifier systems are written under. A FHIR sender writes the MRN
 * system itself, so it must be the base the exchange runs with (CONTRACTS.md: `{base}`,
 * HIE_CANONICAL_BASE, default https://county-hie.org/fhir).
 */
export function demoCanonicalBase(): string {
  return (process.env.HIE_CANONICAL_BASE ?? 'https://county-hie.org/fhir').replace(/\/+$/, '');
}

/**
 * A `fhir` institution's events → NDJSON of transaction Bundles, one per event, each with the
 * resident's Patient (its logical id from the MRN; the MRN identifier `{base}/sid/mrn/{institution}`
 * too) and the event's resources. `Bundle.identifier` is the event's record number in the
 * institution's source-id system, so the gateway's control id is `{system}|{event id}`;
 * `Bundle.timestamp` is the event time (the ordering key).
 */
export const renderFhirBundles: InstitutionWriter = ({ institutionId, events, registrations, folder }) => {
  if (events.length === 0) return [];
  const { charset } = institutionProfile(institutionId);
  const base = demoCanonicalBase();
  const bundles = events.map((e) => fhirBundle(e, registrationOf(registrations, e), base));
  return [
    renderedFile({
      folder,
      institutionId,
      channel: 'fhir',
      name: 'fhir-bundles.ndjson',
      text: ndjson(bundles),
      // FHIR JSON is UTF-8 whatever the registry says (the FHIR stage archives it so).
      charset: /^utf-?8$/i.test(charset) ? charset : 'UTF-8',
      controlIds: bundles.map((b) => `${b.identifier.system}|${b.identifier.value}`),
    }),
  ];
};

export function fhirBundle(e: CareEvent, reg: Registration, base: string) {
  const doctor = practitioner(e.practitionerId);
  const ctx: FhirContext = {
    base,
    institutionId: e.institutionId,
    patientId: fhirId(`mrn-${reg.mrn}`),
    ...(doctor ? { doctor: { staffNo: doctor.staffNo, name: doctor.name.zh } } : {}),
  };
  const resources = [patientResource(reg, ctx), ...eventResources(e, ctx)];
  return {
    resourceType: 'Bundle' as const,
    identifier: { system: `${base}/sid/source-id/${e.institutionId}`, value: e.id },
    type: 'transaction' as const,
    timestamp: e.time,
    entry: resources.map((r) => ({
      resource: r,
      request: { method: 'PUT', url: `${r.resourceType}/${r.id}` },
    })),
  };
}

function eventResources(e: CareEvent, ctx: FhirContext) {
  switch (e.kind) {
    case 'visit':
      return visitResources(e, ctx);
    case 'lab-report':
      return labReportResources(e, ctx);
    case 'ecg-report':
    case 'imaging-report':
    case 'pathology-report':
      return readReportResources(e, ctx);
    case 'referral':
      return referralResources(e, ctx);
    case 'immunization':
      return immunizationResources(e, ctx);
    case 'contract':
      return contractResources(e, ctx, practitionerByStaffNo(e.institutionId, e.doctorStaffNo)?.name.zh);
  }
}
