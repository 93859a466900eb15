/**
 * The rest of the county: persons with one or two institutions' Patient records each and a few
 * records (a visit, a diagnosis, a blood pressure, a lab result), so the store around the target
 * person has the size and shape of a real one and the summary's SQL runs against it.
 */
import { FAMILY, GIVEN, prng } from '../repository/seed-data.ts';
import {
  category,
  clinicalStatus,
  cst,
  dayOf,
  ICD10,
  idOf,
  INSTITUTIONS,
  LOINC,
  nationalId,
  quantity,
  sourcePatient,
  stamp,
  type InstitutionKey,
  type Json,
} from './shapes.ts';

export interface PersonRecords {
  goldenId: string;
  /** The institutions' Patients (each `refer`-linked to the golden id). */
  patients: { patient: Json; institution: InstitutionKey }[];
  /** Clinical resources of the person. */
  resources: Json[];
}

const CARE_SITES: InstitutionKey[] = ['county', 'township', 'village', 'community'];
const DIAGNOSES: [string, string][] = [
  ['I10', '原发性高血压'],
  ['E11.9', '2型糖尿病'],
  ['J06.9', '急性上呼吸道感染'],
  ['K29.7', '胃炎'],
  ['M54.5', '腰痛'],
  ['J44.9', '慢性阻塞性肺病'],
];

/** Person `n` of the population (0-based), the same for the same seed, date and n. */
export function populationPerson(n: number, asOf: Date, seed: number): PersonRecords {
  const rnd = prng(seed * 1_000_003 + n);
  const pick = <T>(list: readonly T[]) => list[Math.floor(rnd() * list.length)]!;
  const goldenId = idOf('person', n, 'golden');
  const resident = nationalId(n);
  const name = pick(FAMILY) + pick(GIVEN);
  const phone = `139${String(10_000_000 + n).slice(-8)}`;
  const first = pick(CARE_SITES);
  const second = rnd() < 0.4 ? pick(CARE_SITES.filter((k) => k !== first)) : undefined;
  const patients = [first, ...(second ? [second] : [])].map((k) => ({
    institution: k,
    patient: sourcePatient({
      id: idOf('person', n, 'patient', k),
      inst: INSTITUTIONS[k],
      mrn: `P${n}`,
      resident,
      name,
      phone,
      goldenId,
    }),
  }));

  const resources: Json[] = [];
  for (const { institution: k, patient } of patients) {
    const subject = { reference: `Patient/${patient.id}` };
    const days = Math.floor(rnd() * 1000);
    const visitNo = `V-${n}-${k}`;
    const at = cst(asOf, days, 8 + Math.floor(rnd() * 9), Math.floor(rnd() * 60));
    const inst = INSTITUTIONS[k];
    const enc = stamp(
      {
        resourceType: 'Encounter',
        id: idOf('person', n, k, 'encounter'),
        identifier: [{ system: `https://county-hie.org/fhir/sid/visit/${inst.id}`, value: visitNo }],
        status: 'finished',
        class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
        subject,
        period: { start: at, end: at },
        serviceProvider: { reference: `Organization/${inst.id}` },
      },
      inst,
      visitNo,
    );
    const [code, display] = pick(DIAGNOSES);
    const cond = stamp(
      {
        resourceType: 'Condition',
        id: idOf('person', n, k, 'condition'),
        clinicalStatus: clinicalStatus('condition-clinical', code.startsWith('J06') ? 'resolved' : 'active'),
        code: { coding: [{ system: ICD10, code, display }] },
        subject,
        encounter: { reference: `Encounter/${enc.id}` },
        recordedDate: dayOf(at),
      },
      inst,
      visitNo,
    );
    const bp = stamp(
      {
        resourceType: 'Observation',
        id: idOf('person', n, k, 'bp'),
        status: 'final',
        category: category('vital-signs'),
        code: { coding: [{ system: LOINC, code: '85354-9', display: '血压' }] },
        subject,
        encounter: { reference: `Encounter/${enc.id}` },
        effectiveDateTime: at,
        component: [
          {
            code: { coding: [{ system: LOINC, code: '8480-6' }] },
            valueQuantity: quantity(110 + Math.round(rnd() * 60), 'mm[Hg]'),
          },
          {
            code: { coding: [{ system: LOINC, code: '8462-4' }] },
            valueQuantity: quantity(65 + Math.round(rnd() * 35), 'mm[Hg]'),
          },
        ],
      },
      inst,
      visitNo,
    );
    const glucose = stamp(
      {
        resourceType: 'Observation',
        id: idOf('person', n, k, 'glucose'),
        status: 'final',
        category: category('laboratory'),
        code: { coding: [{ system: LOINC, code: '2345-7', display: '葡萄糖' }] },
        subject,
        effectiveDateTime: at,
        valueQuantity: quantity(Math.round((4 + rnd() * 6) * 10) / 10, 'mmol/L'),
      },
      inst,
      visitNo,
    );
    resources.push(enc, cond, bp, glucose);
  }
  return { goldenId, patients, resources };
}
