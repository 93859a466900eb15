import type { Identifier, Patient } from 'fhir/r4';
import { checkNationalId, NATIONAL_ID_SYSTEM } from '../../identity/national-id.ts';
import type { Hl7Repetition, Hl7Segment } from '../../parse/hl7v2/index.ts';
import { address, contactPoint, humanName } from './datatypes.ts';
import { fail, type MapState } from './state.ts';

const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';

export interface CxChoice {
  mrn?: { value: string; repetition: number };
  national?: { value: string; repetition: number };
  /** Repetitions that are neither (kept out of the resource, reported as warnings). */
  others: { rep: Hl7Repetition; repetition: number }[];
}

/**
 * CONTRACTS.md: the national ID is the CX whose CX-5 is `NNCHN` or CX-4.1 `CHNID`; the MRN the
 * CX with CX-5 `MR`, else the first `PI`, else the first other repetition.
 */
export function chooseIdentifiers(seg: Hl7Segment, field: number): CxChoice {
  const reps = seg.repetitions(field).map((rep, i) => ({ rep, repetition: i + 1 }));
  const withId = reps.filter((r) => r.rep.get(1) !== '');
  const isNational = (r: Hl7Repetition) => r.get(5) === 'NNCHN' || r.get(4, 1) === 'CHNID';
  const nat = withId.find((r) => isNational(r.rep));
  const local = withId.filter((r) => !isNational(r.rep));
  const mrn =
    local.find((r) => r.rep.get(5) === 'MR') ?? local.find((r) => r.rep.get(5) === 'PI') ?? local[0];
  return {
    ...(mrn ? { mrn: { value: mrn.rep.get(1), repetition: mrn.repetition } } : {}),
    ...(nat ? { national: { value: nat.rep.get(1), repetition: nat.repetition } } : {}),
    others: local.filter((r) => r !== mrn),
  };
}

const GENDER: Record<string, Patient['gender']> = {
  M: 'male',
  F: 'female',
  O: 'other',
  A: 'other',
  U: 'unknown',
  N: 'unknown',
};

export interface MappedPatient {
  fullUrl: string;
  resource: Patient;
  mrn: string;
}

const MOTHERS_MAIDEN_NAME = 'http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName';

/** PID → Patient, keyed by the institution's MRN (never the national ID). */
export function mapPatient(pid: Hl7Segment, st: MapState): MappedPatient {
  if (!pid.has(3)) throw fail('PID-3 (patient identifier list) is missing', pid.at(3), '101');
  const ids = chooseIdentifiers(pid, 3);
  if (!ids.mrn) {
    throw fail(
      'PID-3 holds no institution identifier (MR, PI or other); the national ID alone cannot key a record',
      pid.at(3),
      '101',
    );
  }
  const genderCode = pid.get(8);
  const gender = GENDER[genderCode.toUpperCase()];
  if (genderCode && !gender)
    st.warn(
      `PID-8 "${genderCode}" is not an HL7 table 0001 code; gender left out`,
      pid.at(8),
      'code-invalid',
    );

  const identifier: Identifier[] = [mrnIdentifier(st, ids.mrn.value)];
  if (ids.national) identifier.push(nationalIdentifier(st, pid, ids.national, gender));
  for (const o of ids.others) {
    st.warn(
      `PID-3 repetition ${o.repetition} (type "${o.rep.get(5)}") is not mapped by the built-in mapping`,
      pid.at(3, o.repetition),
    );
  }

  const patient: Patient = { resourceType: 'Patient', identifier };
  const names = pid
    .repetitions(5)
    .map(humanName)
    .filter((n) => n !== undefined);
  if (names.length) patient.name = names;
  // PID-6: the mother's maiden name, which PDQm searches by (`mothersMaidenName`).
  const maiden = pid.has(6) ? humanName(pid.repetitions(6)[0]!) : undefined;
  if (maiden) patient.extension = [{ url: MOTHERS_MAIDEN_NAME, valueString: maiden.text! }];
  const telecom = [
    ...pid.repetitions(13).map((r) => contactPoint(r, 'home')),
    ...pid.repetitions(14).map((r) => contactPoint(r, 'work')),
  ].filter((c) => c !== undefined);
  if (telecom.length) patient.telecom = telecom;
  if (gender) patient.gender = gender;
  const birth = st.time(pid, 7);
  if (birth) patient.birthDate = birth.date;
  const deceasedAt = st.time(pid, 29);
  if (deceasedAt) patient.deceasedDateTime = deceasedAt.dateTime;
  else if (pid.get(30) === 'Y') patient.deceasedBoolean = true;
  const addresses = pid
    .repetitions(11)
    .map(address)
    .filter((a) => a !== undefined);
  if (addresses.length) patient.address = addresses;
  patient.managingOrganization = { reference: st.organizationRef };
  return { fullUrl: st.fullUrl(`Patient|${ids.mrn.value}`), resource: patient, mrn: ids.mrn.value };
}

export function mrnIdentifier(st: MapState, value: string): Identifier {
  return { use: 'usual', type: { coding: [{ system: V2_0203, code: 'MR' }] }, system: st.mrnSystem, value };
}

/** The national ID, verified; a failing one is kept and tagged `unverified` (never dropped). */
function nationalIdentifier(
  st: MapState,
  pid: Hl7Segment,
  nat: { value: string; repetition: number },
  gender: Patient['gender'],
): Identifier {
  const expectedSex = gender === 'male' || gender === 'female' ? gender : undefined;
  const check = checkNationalId(nat.value, expectedSex ? { expectedSex } : {});
  const id: Identifier = {
    use: 'official',
    type: { coding: [{ system: V2_0203, code: 'NI' }] },
    system: NATIONAL_ID_SYSTEM,
    value: check.value,
  };
  if (!check.valid) {
    id.extension = [
      { url: `${st.base}/StructureDefinition/identifier-verification`, valueCode: 'unverified' },
    ];
    st.warn(
      `PID-3 repetition ${nat.repetition}: national ID fails verification (${check.reason}); kept as unverified`,
      pid.at(3, nat.repetition, 1),
      'business-rule',
    );
  }
  return id;
}
