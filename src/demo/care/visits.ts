import { LEAD_HOSPITAL, TCM_HOSPITAL } from '../county.ts';
import type { CodedItem, VitalSign } from '../types.ts';
import { DIAGNOSES, DRUGS, PANELS, READ_PROCEDURES, type Drug } from './catalog.ts';
import { prescription } from './chronic.ts';
import { WINDOW_DAYS, type ResidentCare } from './context.ts';
import { labEvent, readReport } from './reports.ts';

const ACUTE: { diagnosis: CodedItem; drug?: Drug; fever: boolean }[] = [
  { diagnosis: DIAGNOSES.urti, fever: true },
  { diagnosis: DIAGNOSES.bronchitis, drug: DRUGS.amoxicillin, fever: true },
  { diagnosis: DIAGNOSES.gastritis, drug: DRUGS.omeprazole, fever: false },
  { diagnosis: DIAGNOSES.backPain, drug: DRUGS.ibuprofen, fever: false },
  { diagnosis: DIAGNOSES.gastroenteritis, drug: DRUGS.montmorillonite, fever: false },
];

/** Everyday illness: outpatient visits at the township or community centre, with vitals. */
export function planAcuteVisits(c: ResidentCare): void {
  if (!c.centre) return;
  const expected = c.age < 6 ? 1.6 : c.age >= 65 ? 1.3 : 0.9;
  const count = Math.floor(expected + c.real(0, 1) - 0.2);
  for (let i = 0; i < count; i++) {
    const day = c.int(c.lastDay, WINDOW_DAYS);
    const a = c.pick(ACUTE);
    const temp = a.fever ? c.normal(38.2, 0.5) : c.normal(36.6, 0.2);
    const vitals: VitalSign[] = [
      { kind: 'temperature', value: Math.round(temp * 10) / 10, unit: 'Cel' },
      { kind: 'heart-rate', value: Math.round(c.normal(c.age < 6 ? 110 : 78, 8)), unit: '/min' },
    ];
    if (c.age < 14)
      vitals.push({ kind: 'weight', value: Math.round(childWeight(c.age) * 10) / 10, unit: 'kg' });
    const inpatient = c.age >= 65 && a.diagnosis === DIAGNOSES.bronchitis && c.chance(0.4);
    const time = c.at(day);
    const stay = c.int(3, 7);
    const ends = c.alive(day - stay);
    c.add({
      kind: 'visit',
      id: c.id('V'),
      personId: c.resident.personId,
      institutionId: c.centre,
      time,
      ...c.by(c.practitioner(c.centre, 'doctor', 'family-doctor')),
      setting: inpatient ? 'inpatient' : 'outpatient',
      ...(inpatient && ends ? { end: c.at(day - stay, c.int(9 * 60, 11 * 60)) } : {}),
      department: c.age < 14 ? '儿科' : '内科',
      diagnoses: [inpatient ? DIAGNOSES.pneumonia : a.diagnosis],
      vitals,
      prescriptions: a.drug ? [prescription(a.drug, c.int(3, 7))] : [],
    });
    if (inpatient)
      readReport(c, 'imaging-report', 'county-imaging-centre', c.centre, READ_PROCEDURES.chestXray, day);
  }
}

function childWeight(age: number): number {
  return age < 1 ? 8 : 2 * age + 8;
}

interface Admission {
  department: string;
  diagnoses: CodedItem[];
  imaging?: CodedItem;
  pathology?: CodedItem;
  ecg: boolean;
  rehab: boolean;
  panels: (keyof typeof PANELS)[];
}

/** Why this resident is admitted to the county hospital, if at all in the window. */
function admission(c: ResidentCare): Admission | undefined {
  const chronic = c.resident.chronic;
  const base: (keyof typeof PANELS)[] = ['cbc', 'bmp', 'liver'];
  if (chronic.includes('coronary-heart-disease') && c.chance(0.5))
    return {
      department: '心内科',
      diagnoses: [DIAGNOSES.angina, DIAGNOSES.chd],
      ecg: true,
      rehab: c.chance(0.5),
      panels: [...base, 'lipids'],
    };
  if (chronic.includes('copd') && c.chance(0.45))
    return {
      department: '呼吸科',
      diagnoses: [DIAGNOSES.copdExacerbation],
      imaging: READ_PROCEDURES.chestXray,
      ecg: c.age >= 60,
      rehab: c.chance(0.3),
      panels: base,
    };
  if (chronic.includes('diabetes') && c.chance(0.2))
    return {
      department: '内分泌科',
      diagnoses: [DIAGNOSES.hyperglycaemia],
      ecg: true,
      rehab: false,
      panels: [...base, 'hba1c', 'lipids'],
    };
  if (chronic.includes('hypertension') && c.chance(0.12))
    return c.chance(0.5)
      ? {
          department: '神经内科',
          diagnoses: [DIAGNOSES.stroke, DIAGNOSES.hypertension],
          imaging: READ_PROCEDURES.headCt,
          ecg: true,
          rehab: true,
          panels: [...base, 'lipids'],
        }
      : {
          department: '心内科',
          diagnoses: [DIAGNOSES.heartFailure, DIAGNOSES.hypertension],
          imaging: READ_PROCEDURES.chestXray,
          ecg: true,
          rehab: c.chance(0.4),
          panels: base,
        };
  if (c.age >= 18 && c.chance(c.age >= 65 ? 0.08 : 0.03)) {
    const k = c.int(0, 2);
    if (k === 0)
      return {
        department: '普外科',
        diagnoses: [DIAGNOSES.cholecystitis],
        imaging: READ_PROCEDURES.abdominalUltrasound,
        pathology: READ_PROCEDURES.gallbladder,
        ecg: c.age >= 50,
        rehab: false,
        panels: base,
      };
    if (k === 1)
      return {
        department: '消化内科',
        diagnoses: [DIAGNOSES.gastricUlcer],
        pathology: READ_PROCEDURES.gastricBiopsy,
        ecg: c.age >= 50,
        rehab: false,
        panels: base,
      };
    return {
      department: '骨科',
      diagnoses: [DIAGNOSES.fracture],
      imaging: READ_PROCEDURES.chestXray,
      ecg: true,
      rehab: true,
      panels: ['cbc', 'bmp'],
    };
  }
  return undefined;
}

/**
 * A county admission: the township (or community) centre refers the patient up, the county
 * hospital admits and discharges (or still has them on the ward), its LIS reports panels, the
 * shared centres read ECG, imaging and pathology, and some go back down for rehabilitation.
 */
export function planAdmission(c: ResidentCare): void {
  if (!c.has(LEAD_HOSPITAL)) return;
  const a = admission(c);
  if (!a) return;
  const day = c.int(Math.max(c.lastDay, 2), WINDOW_DAYS - 10);
  const personId = c.resident.personId;
  if (c.centre) {
    c.add({
      kind: 'referral',
      id: c.id('R'),
      personId,
      institutionId: c.centre,
      time: c.at(day + c.int(1, 3)),
      ...c.by(c.practitioner(c.centre, 'doctor', 'family-doctor')),
      direction: 'up',
      to: LEAD_HOSPITAL,
      reason: a.diagnoses[0]!,
      status: 'completed',
      note: `病情需进一步诊治，转县人民医院${a.department}`,
    });
  }
  const stay = c.int(4, 12);
  const discharged = c.alive(day - stay);
  const doctor =
    c.directory.staff(LEAD_HOSPITAL, 'doctor').find((p) => p.specialty === a.department) ??
    c.practitioner(LEAD_HOSPITAL, 'doctor');
  const admitted = c.at(day, c.int(8 * 60, 20 * 60));
  const vitals: VitalSign[] = [
    { kind: 'systolic', value: Math.round(c.normal(142, 14)), unit: 'mmHg' },
    { kind: 'diastolic', value: Math.round(c.normal(84, 9)), unit: 'mmHg' },
    { kind: 'heart-rate', value: Math.round(c.normal(84, 10)), unit: '/min' },
    { kind: 'temperature', value: Math.round(c.normal(36.8, 0.3) * 10) / 10, unit: 'Cel' },
  ];
  c.add({
    kind: 'visit',
    id: c.id('V'),
    personId,
    institutionId: LEAD_HOSPITAL,
    time: admitted,
    ...c.by(doctor),
    setting: 'inpatient',
    ...(discharged ? { end: c.at(day - stay, c.int(9 * 60, 11 * 60 + 30)) } : {}),
    department: a.department,
    diagnoses: a.diagnoses,
    vitals,
    prescriptions: [],
  });
  const labDay = day - 1 >= c.lastDay ? day - 1 : day;
  const specimen = c.at(labDay, c.int(6 * 60, 7 * 60 + 30));
  for (const key of a.panels) labEvent(c, LEAD_HOSPITAL, LEAD_HOSPITAL, PANELS[key], labDay, specimen);
  if (a.ecg) readReport(c, 'ecg-report', 'county-ecg-centre', LEAD_HOSPITAL, READ_PROCEDURES.ecg, labDay);
  if (a.imaging) readReport(c, 'imaging-report', 'county-imaging-centre', LEAD_HOSPITAL, a.imaging, labDay);
  if (a.pathology && c.alive(day - 3))
    readReport(c, 'pathology-report', 'county-pathology-centre', LEAD_HOSPITAL, a.pathology, day - 2);
  if (discharged && a.rehab && c.centre) {
    const downDay = day - stay;
    c.add({
      kind: 'referral',
      id: c.id('R'),
      personId,
      institutionId: LEAD_HOSPITAL,
      time: c.at(downDay, c.int(9 * 60, 11 * 60 + 30)),
      ...c.by(doctor),
      direction: 'down',
      to: c.centre,
      reason: a.diagnoses[0]!,
      status: downDay > 30 && c.chance(0.7) ? 'completed' : 'active',
      note: '病情稳定出院，转回基层医疗机构继续康复治疗及随访',
    });
  }
}

/** Specialist outpatient visits at the county hospital or the TCM hospital (ADT^A04). */
export function planCountyOutpatient(c: ResidentCare): void {
  if (c.age < 18 || !c.chance(c.age >= 60 ? 0.3 : 0.12)) return;
  const tcm = c.has(TCM_HOSPITAL) && c.chance(0.4);
  const hospital = tcm ? TCM_HOSPITAL : LEAD_HOSPITAL;
  if (!c.has(hospital)) return;
  const day = c.int(c.lastDay, WINDOW_DAYS);
  const dx = tcm
    ? c.pick([DIAGNOSES.backPain, DIAGNOSES.gastritis])
    : c.resident.chronic.includes('hypertension')
      ? DIAGNOSES.hypertension
      : c.pick([DIAGNOSES.gastritis, DIAGNOSES.bronchitis, DIAGNOSES.backPain]);
  c.add({
    kind: 'visit',
    id: c.id('V'),
    personId: c.resident.personId,
    institutionId: hospital,
    time: c.at(day),
    ...c.by(c.practitioner(hospital, 'doctor')),
    setting: 'outpatient',
    department: tcm ? '中医内科' : dx === DIAGNOSES.hypertension ? '心内科' : '普通内科',
    diagnoses: [dx],
    vitals: [
      { kind: 'systolic', value: Math.round(c.normal(136, 14)), unit: 'mmHg' },
      { kind: 'diastolic', value: Math.round(c.normal(82, 9)), unit: 'mmHg' },
    ],
    prescriptions: [],
  });
}
