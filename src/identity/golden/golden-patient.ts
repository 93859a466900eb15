import type { Address, ContactPoint, HumanName, Patient } from 'fhir/r4';

/** What the survivorship rules choose the golden record's demographics from. */
export interface Demographics {
  name?: HumanName[];
  gender?: Patient['gender'];
  birthDate?: string;
  telecom?: ContactPoint[];
  address?: Address[];
  deceasedBoolean?: boolean;
  deceasedDateTime?: string;
}

export interface SourceRecord {
  ref: string;
  tier?: string;
  /** When the source's demographics last changed (ISO). */
  updated: string;
  demographics: Demographics;
}

export const RECORD_KIND = (base: string) => `${base}/CodeSystem/record-kind`;
export const PERSON_SYSTEM = (base: string) => `${base}/sid/person`;

/** The demographic elements of a Patient, as the identity tables keep them. */
export function demographicsOf(p: Patient): Demographics {
  return {
    ...(p.name?.length ? { name: p.name } : {}),
    ...(p.gender ? { gender: p.gender } : {}),
    ...(p.birthDate ? { birthDate: p.birthDate } : {}),
    ...(p.telecom?.length ? { telecom: p.telecom } : {}),
    ...(p.address?.length ? { address: p.address } : {}),
    ...(p.deceasedBoolean !== undefined ? { deceasedBoolean: p.deceasedBoolean } : {}),
    ...(p.deceasedDateTime ? { deceasedDateTime: p.deceasedDateTime } : {}),
  };
}

const completeness = (d: Demographics) =>
  Number(!!d.name) + Number(!!d.gender) + Number(!!d.birthDate) + Number(!!d.telecom) + Number(!!d.address);

/**
 * The golden Patient of a person (CONTRACTS "Identity links"): tagged golden, the person
 * identifier, each demographic element taken from the best source that has it — the most
 * trusted tier first (a county hospital checks the ID card; a village clinic writes what it
 * hears), then the most recently changed, then the most complete — and `seealso` links to every
 * source. No source identifiers are copied: `Patient?identifier=` must keep finding sources only.
 */
export function goldenPatient(
  personId: string,
  sources: readonly SourceRecord[],
  tierTrust: Readonly<Record<string, number>>,
  base: string,
): Patient {
  const ordered = [...sources].sort(
    (a, b) =>
      (tierTrust[b.tier ?? ''] ?? 0) - (tierTrust[a.tier ?? ''] ?? 0) ||
      b.updated.localeCompare(a.updated) ||
      completeness(b.demographics) - completeness(a.demographics) ||
      a.ref.localeCompare(b.ref),
  );
  const first = <K extends keyof Demographics>(key: K): Demographics[K] | undefined =>
    ordered.find((s) => s.demographics[key] !== undefined)?.demographics[key];
  const deceased = ordered.find(
    (s) => s.demographics.deceasedDateTime !== undefined || s.demographics.deceasedBoolean !== undefined,
  )?.demographics;
  const name = first('name');
  const gender = first('gender');
  const birthDate = first('birthDate');
  const telecom = first('telecom');
  const address = first('address');
  return {
    resourceType: 'Patient',
    id: personId,
    meta: {
      tag: [{ system: RECORD_KIND(base), code: 'golden', display: 'Regional person (golden record)' }],
    },
    identifier: [{ use: 'official', system: PERSON_SYSTEM(base), value: personId }],
    active: true,
    ...(name ? { name } : {}),
    ...(telecom ? { telecom } : {}),
    ...(gender ? { gender } : {}),
    ...(birthDate ? { birthDate } : {}),
    ...(deceased?.deceasedDateTime
      ? { deceasedDateTime: deceased.deceasedDateTime }
      : deceased?.deceasedBoolean !== undefined
        ? { deceasedBoolean: deceased.deceasedBoolean }
        : {}),
    ...(address ? { address } : {}),
    // A person left without records (its last one moved away) has no links: FHIR forbids an
    // empty array.
    ...(sources.length > 0
      ? {
          link: [...sources]
            .sort((a, b) => a.ref.localeCompare(b.ref))
            .map((s) => ({ other: { reference: s.ref }, type: 'seealso' as const })),
        }
      : {}),
  };
}
