import { DIAGNOSES, DRUGS, PANELS, READ_PROCEDURES, SERVICE_PACKAGES, type Drug } from './catalog.ts';
import { WINDOW_DAYS, type ResidentCare } from './context.ts';
import { labEvent, readReport } from './reports.ts';
import type { CodedItem, Prescription, VitalSign } from '../types.ts';

/**
 * Chronic disease management at the grassroots: hypertension and diabetes follow-ups every one
 * to three months at the village clinic (or the community centre in the subdistricts), with a
 * blood pressure that drifts toward control once treated, fasting glucose for diabetics, the
 * standing prescriptions, and an upward referral when the pressure stays dangerously high.
 */
export function planFollowUps(c: ResidentCare): void {
  const chronic = c.resident.chronic;
  const htn = chronic.includes('hypertension');
  const dm = chronic.includes('diabetes');
  if (!htn && !dm) return;
  const site = c.clinic ?? c.centre;
  if (!site) return;
  const doctor = c.clinic
    ? c.practitioner(site, 'village-doctor', 'family-doctor')
    : c.practitioner(site, 'family-doctor', 'doctor');

  const diagnoses: CodedItem[] = [];
  if (htn) diagnoses.push(DIAGNOSES.hypertension);
  if (dm) diagnoses.push(DIAGNOSES.diabetes);
  if (chronic.includes('coronary-heart-disease')) diagnoses.push(DIAGNOSES.chd);
  if (chronic.includes('copd')) diagnoses.push(DIAGNOSES.copd);

  const regimen: Drug[] = [];
  if (htn) {
    regimen.push(c.chance(0.6) ? DRUGS.amlodipine : DRUGS.nifedipine);
    if (c.chance(0.35)) regimen.push(c.chance(0.5) ? DRUGS.losartan : DRUGS.enalapril);
  }
  if (dm) {
    regimen.push(DRUGS.metformin);
    if (c.chance(0.3)) regimen.push(c.chance(0.7) ? DRUGS.gliclazide : DRUGS.glargine);
  }
  if (chronic.includes('coronary-heart-disease')) regimen.push(DRUGS.aspirin, DRUGS.atorvastatin);

  // Control: most patients reach target within months; a minority stay high.
  const controlled = c.chance(0.65);
  const sys0 = htn ? c.normal(156, 10) : c.normal(128, 9);
  const sysTarget = htn ? (controlled ? c.normal(132, 5) : c.normal(152, 6)) : sys0;
  const glu0 = c.normal(8.6, 1.2);
  const gluTarget = controlled ? c.normal(6.6, 0.5) : c.normal(8.8, 0.8);

  // Some were already followed up two years ago; others were diagnosed during the window.
  let day = c.chance(0.3) ? WINDOW_DAYS - c.int(0, 60) : c.int(90, 540);
  let referred = false;
  for (let n = 0; c.alive(day); n++) {
    const interval = c.int(60, 100);
    const progress = Math.min(1, n / 4);
    const sys = Math.round(sys0 + (sysTarget - sys0) * progress + c.normal(0, 6));
    const dia = Math.round(sys * 0.58 + c.normal(6, 4));
    const vitals: VitalSign[] = [];
    if (htn || c.chance(0.7)) {
      vitals.push({ kind: 'systolic', value: sys, unit: 'mmHg' });
      vitals.push({ kind: 'diastolic', value: dia, unit: 'mmHg' });
    }
    if (dm) {
      const glu = glu0 + (gluTarget - glu0) * progress + c.normal(0, 0.7);
      vitals.push({ kind: 'fasting-glucose', value: round(Math.max(4.2, glu), 1), unit: 'mmol/L' });
    }
    const days = Math.min(interval, 30) >= 28 ? 30 : 14;
    const time = c.at(day);
    c.add({
      kind: 'visit',
      id: c.id('V'),
      personId: c.resident.personId,
      institutionId: site,
      time,
      ...c.by(doctor),
      setting: 'outpatient',
      department: c.clinic ? '村卫生室' : '全科',
      diagnoses: [...diagnoses],
      vitals,
      prescriptions: regimen.map((d) => prescription(d, days)),
    });
    if (!referred && sys >= 170 && c.clinic && c.centre) {
      referred = true;
      referUpToTownship(c, site, day, doctor?.id);
    }
    day -= interval;
  }
}

function referUpToTownship(c: ResidentCare, clinic: string, day: number, by: string | undefined): void {
  const centre = c.centre!;
  const seenIn = c.int(2, 7);
  const completed = c.alive(day - seenIn);
  c.add({
    kind: 'referral',
    id: c.id('R'),
    personId: c.resident.personId,
    institutionId: clinic,
    time: c.at(day, 11 * 60),
    ...(by ? { practitionerId: by } : {}),
    direction: 'up',
    to: centre,
    reason: DIAGNOSES.hypertension,
    status: completed ? 'completed' : 'active',
    note: '血压控制不佳，多次随访收缩压≥170mmHg，建议上级医院调整降压方案',
  });
  if (!completed) return;
  const doctor = c.practitioner(centre, 'doctor', 'family-doctor');
  c.add({
    kind: 'visit',
    id: c.id('V'),
    personId: c.resident.personId,
    institutionId: centre,
    time: c.at(day - seenIn),
    ...c.by(doctor),
    setting: 'outpatient',
    department: '内科',
    diagnoses: [DIAGNOSES.hypertension],
    vitals: [
      { kind: 'systolic', value: Math.round(c.normal(164, 6)), unit: 'mmHg' },
      { kind: 'diastolic', value: Math.round(c.normal(96, 5)), unit: 'mmHg' },
      { kind: 'heart-rate', value: Math.round(c.normal(78, 8)), unit: '/min' },
    ],
    prescriptions: [prescription(DRUGS.amlodipine, 30), prescription(DRUGS.losartan, 30)],
  });
}

/**
 * Yearly checks that township centres send out: blood to the shared lab (HbA1c for diabetics,
 * lipids and a metabolic panel for hypertension) and an ECG read by the ECG centre.
 */
export function planAnnualChecks(c: ResidentCare): void {
  const chronic = c.resident.chronic;
  const cardiac = chronic.includes('hypertension') || chronic.includes('coronary-heart-disease');
  const dm = chronic.includes('diabetes');
  if (!c.centre || (!cardiac && !dm && c.age < 65)) return;
  for (let day = c.int(20, 330); c.alive(day); day += c.int(330, 400)) {
    if (!c.chance(0.5)) continue;
    const time = c.at(day, c.int(7 * 60 + 30, 9 * 60 + 30));
    const panels = [dm ? PANELS.hba1c : undefined, cardiac ? PANELS.lipids : undefined];
    if ((c.age >= 65 || dm) && c.chance(0.4)) panels.push(PANELS.bmp);
    for (const panel of panels) {
      if (panel) labEvent(c, 'county-shared-lab', c.centre, panel, day, time);
    }
    if ((c.age >= 60 || cardiac) && c.chance(0.4))
      readReport(c, 'ecg-report', 'county-ecg-centre', c.centre, READ_PROCEDURES.ecg, day);
  }
}

/**
 * Family-doctor contracts (家庭医生签约) at the township or community centre for elders and
 * chronic patients: one year each, the current one active, some with a finished one before.
 */
export function planContracts(c: ResidentCare): void {
  const chronic = c.resident.chronic.length > 0;
  if (!c.centre || (c.age < 65 && !chronic) || !c.chance(0.85)) return;
  const doctors = c.directory.staff(c.centre, 'family-doctor').filter((p) => p.team);
  if (!doctors.length) return;
  const doctor = c.pick(doctors);
  const servicePackage = chronic
    ? SERVICE_PACKAGES.chronic
    : c.age >= 65
      ? SERVICE_PACKAGES.elderly
      : SERVICE_PACKAGES.basic;
  const start = c.int(20, 340);
  const terms = c.chance(0.5) && c.alive(start + 365) ? [start + 365, start] : [start];
  for (const s of terms) {
    if (!c.alive(s)) continue;
    const finished = s - 364 >= 1;
    c.add({
      kind: 'contract',
      id: c.id('C'),
      personId: c.resident.personId,
      institutionId: c.centre,
      time: c.at(s, c.officeMinute()),
      practitionerId: doctor.id,
      doctorStaffNo: doctor.staffNo,
      teamNo: doctor.team!,
      start: c.clock.date(s),
      end: c.clock.date(s - 364),
      status: finished ? 'finished' : 'active',
      servicePackage,
    });
  }
}

export function prescription(d: Drug, days: number): Prescription {
  return { drug: d.item, dose: d.dose, doseUnit: d.doseUnit, frequency: d.frequency, days };
}

export function round(x: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(x * f) / f;
}
