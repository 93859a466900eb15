import type { Coding, Resource } from 'fhir/r4';

export const ACT = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
export const CONF = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
export const ICD10 = 'http://hl7.org/fhir/sid/icd-10';
export const ICD10_CN = 'https://county-hie.org/fhir/CodeSystem/icd10-cn';
export const LOINC = 'http://loinc.org';
export const SCT = 'http://snomed.info/sct';
export const ATC = 'http://www.whocc.no/atc';

/** `system|code` of a resource's meta.security, sorted: what the assertions compare. */
export function security(r: Resource): string[] {
  return (r.meta?.security ?? []).map((c: Coding) => `${c.system}|${c.code}`).sort();
}

export const label = (code: string) => `${ACT}|${code}`;
export const R = `${CONF}|R`;

export function condition(system: string, code: string): Resource {
  return {
    resourceType: 'Condition',
    subject: { reference: 'urn:uuid:p' },
    code: { coding: [{ system, code }] },
  } as Resource;
}
