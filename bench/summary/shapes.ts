/**
 * Shared shapes of the summary benchmark's synthetic data, written as the pipeline writes them
 * (CONTRACTS "Where a resource came from"): `meta.source` naming the owning institution and an
 * archive id, the mapping tag, institution-scoped identifiers. Ids are name-based UUIDs so the
 * same seed and date give the same store.
 */
import { NATIONAL_ID_SYSTEM, nationalIdCheckChar } from '../../src/identity/national-id.ts';
import { uuidFrom } from '../../src/summary/build-summary.ts';

export type Json = Record<string, any>;

export const BASE = 'https://county-hie.org/fhir';
export const LOINC = 'http://loinc.org';
export const UCUM = 'http://unitsofmeasure.org';
export const ICD10 = 'http://hl7.org/fhir/sid/icd-10';
export const ICD10_CN = `${BASE}/CodeSystem/icd10-cn`;
export const DRUG_CN = `${BASE}/CodeSystem/drug-cn`;
export const SNOMED = 'http://snomed.info/sct';
export const OBS_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';

/** The institutions the benchmark's people visit (ids and tiers from registry/institutions.json). */
export const INSTITUTIONS = {
  county: { id: 'county-peoples-hospital', tier: 'county-hospital', mapping: 'adt@1' },
  lab: { id: 'county-shared-lab', tier: 'shared-centre', mapping: 'oru-r01@1' },
  township: {
    id: 'qiaotou-township-health-centre',
    tier: 'township-health-centre',
    mapping: 'township-his@2',
  },
  village: { id: 'dongcun-village-clinic', tier: 'village-clinic', mapping: 'village-visits@2' },
  community: {
    id: 'chengguan-community-health-centre',
    tier: 'community-health-centre',
    mapping: 'fhir-passthrough@1',
  },
} as const;

export type InstitutionKey = keyof typeof INSTITUTIONS;
export interface Institution {
  id: string;
  tier: string;
  mapping: string;
}

/** A stable id for a named thing of the benchmark. */
export const idOf = (...parts: (string | number)[]) => uuidFrom(`bench-summary|${parts.join('|')}`);

/** The pipeline's stamp: owning institution and archived message, mapping `id@version`. */
export function stamp<T extends Json>(resource: T, inst: Institution, message: string): T {
  (resource as Json).meta = {
    source: `${BASE}/institution/${inst.id}#${idOf('archive', inst.id, message)}`,
    tag: [{ system: `${BASE}/CodeSystem/mapping`, code: inst.mapping }],
  };
  return resource;
}

/**
 * The n-th resident's national ID (18 characters, valid check digit): a birth date and a sequence
 * number that together stay distinct for many millions of residents.
 */
export function nationalId(n: number): { value: string; birthDate: string; gender: 'male' | 'female' } {
  const birth = new Date(Date.UTC(1940, 0, 1) + (n % 30_000) * 86_400_000);
  const ymd = birth.toISOString().slice(0, 10).replaceAll('-', '');
  const seq = Math.floor(n / 30_000) % 1000;
  const sexDigit = n % 2;
  const body = `332522${ymd}${String(seq).padStart(2, '0').slice(-2)}${sexDigit}`;
  return {
    value: body + nationalIdCheckChar(body),
    birthDate: birth.toISOString().slice(0, 10),
    gender: sexDigit ? 'male' : 'female',
  };
}

/** One institution's own Patient record of a resident, pointing at the golden record (`refer`). */
export function sourcePatient(opts: {
  id: string;
  inst: Institution;
  mrn: string;
  resident: { value: string; birthDate: string; gender: 'male' | 'female' };
  name: string;
  phone?: string;
  goldenId: string;
}): Json {
  return stamp(
    {
      resourceType: 'Patient',
      id: opts.id,
      identifier: [
        { use: 'usual', system: `${BASE}/sid/mrn/${opts.inst.id}`, value: opts.mrn },
        { use: 'official', system: NATIONAL_ID_SYSTEM, value: opts.resident.value },
      ],
      name: [{ use: 'official', text: opts.name }],
      gender: opts.resident.gender,
      birthDate: opts.resident.birthDate,
      ...(opts.phone ? { telecom: [{ system: 'phone', value: opts.phone, use: 'mobile' }] } : {}),
      link: [{ other: { reference: `Patient/${opts.goldenId}` }, type: 'refer' }],
    },
    opts.inst,
    `patient-${opts.mrn}`,
  );
}

/** `days` before `asOf` at `hour`:`minute` China Standard Time, as an institution writes it. */
export function cst(asOf: Date, days: number, hour = 9, minute = 0): string {
  const t = new Date(asOf.getTime() - days * 86_400_000);
  const ymd = t.toISOString().slice(0, 10);
  return `${ymd}T${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}:00+08:00`;
}

export const dayOf = (dateTime: string) => dateTime.slice(0, 10);

export const quantity = (value: number, unit: string) => ({ value, unit, system: UCUM, code: unit });

export const category = (code: string) => [{ coding: [{ system: OBS_CATEGORY, code }] }];

export const clinicalStatus = (system: string, code: string) => ({
  coding: [{ system: `http://terminology.hl7.org/CodeSystem/${system}`, code }],
});
