import type {
  CareEvent,
  ImmunizationEvent,
  InstitutionWriter,
  Prescription,
  ReferralEvent,
  Registration,
  VisitEvent,
  VitalSign,
} from '../../types.ts';
import {
  institutionProfile,
  localDate,
  localDateTime,
  ndjson,
  practitioner,
  registrationOf,
  renderedFile,
} from './shared.ts';

/**
 * A township health centre's HIS export → `json:township-his`, one object per line, in the shape
 * `mappings/json/township-his-encounter.yaml` (version 2) reads. Every object is a visit: an
 * immunization is given at a 预防接种门诊 visit and a referral written at one, so those events
 * become a visit with their `immunizations` or `referral` part. Keys are written in a fixed order
 * (object literals below), absent values left out.
 */
export const renderTownshipHisJson: InstitutionWriter = ({
  institutionId,
  events,
  registrations,
  folder,
}) => {
  const exported = events.filter(
    (e): e is VisitEvent | ImmunizationEvent | ReferralEvent =>
      e.kind === 'visit' || e.kind === 'immunization' || e.kind === 'referral',
  );
  if (exported.length === 0) return [];
  const { charset, timezone } = institutionProfile(institutionId);
  const objects = exported.map((e) => townshipObject(e, registrationOf(registrations, e), timezone));
  return [
    renderedFile({
      folder,
      institutionId,
      channel: 'json:township-his',
      name: 'township-his.ndjson',
      text: ndjson(objects),
      charset,
      controlIds: exported.map((e) => e.id),
    }),
  ];
};

/** The HIS's item codes for vital signs (ConceptMap `township-vitals` translates them to LOINC). */
const VITAL_ITEMS: Partial<Record<VitalSign['kind'], { item: string; name: string }>> = {
  weight: { item: 'TZ', name: '体重' },
  height: { item: 'SG', name: '身高' },
  temperature: { item: 'TW', name: '体温' },
  'heart-rate': { item: 'MB', name: '脉搏' },
  'fasting-glucose': { item: 'KFXT', name: '空腹血糖' },
};

export function townshipObject(
  e: VisitEvent | ImmunizationEvent | ReferralEvent,
  reg: Registration,
  timezone: string,
): Record<string, unknown> {
  const time = (iso: string) => localDateTime(iso, timezone, '-');
  const doctor = practitioner(e.practitionerId);
  const out: Record<string, unknown> = {
    patient: {
      patientId: reg.mrn,
      name: reg.name,
      sex: reg.sex === 'male' ? 'M' : reg.sex === 'female' ? 'F' : undefined,
      birthDate: reg.birthDate ? localDate(reg.birthDate, timezone, '-') : undefined,
      idCard: reg.nationalId,
      phone: reg.phone,
    },
    visit: {
      visitNo: e.id,
      kind: e.kind === 'visit' ? e.setting : 'outpatient',
      start: time(e.time),
      end: e.kind === 'visit' && e.end ? time(e.end) : undefined,
      dept: e.kind === 'visit' ? e.department : e.kind === 'immunization' ? '预防接种门诊' : '全科',
    },
    doctor: doctor ? { staffNo: doctor.staffNo, name: doctor.name.zh } : undefined,
  };
  if (e.kind === 'visit') Object.assign(out, visitParts(e, time));
  if (e.kind === 'immunization') {
    out.immunizations = [
      {
        seq: 1,
        cvx: e.vaccine.system === 'cvx' ? e.vaccine.code : undefined,
        localCode: e.vaccine.system === 'cvx' ? undefined : e.vaccine.code,
        vaccineName: e.vaccine.name,
        time: time(e.time),
        doseNumber: e.doseNumber,
        lotNumber: e.lotNumber,
      },
    ];
  }
  if (e.kind === 'referral') {
    out.referral = {
      referralNo: e.id,
      direction: e.direction,
      to: e.to,
      status: e.status,
      reasonCode: e.reason.code,
      reasonName: e.reason.name,
      time: time(e.time),
      note: e.note,
    };
  }
  return out;
}

function visitParts(v: VisitEvent, time: (iso: string) => string): Record<string, unknown> {
  const systolic = v.vitals.find((s) => s.kind === 'systolic');
  const diastolic = v.vitals.find((s) => s.kind === 'diastolic');
  const vitals = v.vitals.flatMap((s) => {
    const item = VITAL_ITEMS[s.kind];
    return item ? [{ item: item.item, name: item.name, value: s.value, unit: s.unit }] : [];
  });
  return {
    diagnoses: v.diagnoses.length
      ? v.diagnoses.map((d, i) => ({ seq: i + 1, code: d.code, name: d.name, primary: i === 0 }))
      : undefined,
    vitals: vitals.length ? vitals : undefined,
    bloodPressure:
      systolic && diastolic
        ? { systolic: systolic.value, diastolic: diastolic.value, time: time(v.time) }
        : undefined,
    prescriptions: v.prescriptions.length ? v.prescriptions.map((p, i) => prescription(p, i + 1)) : undefined,
  };
}

function prescription(p: Prescription, seq: number): Record<string, unknown> {
  return {
    seq,
    drugCode: p.drug.code,
    drugName: p.drug.name,
    dose: p.dose,
    doseUnit: p.doseUnit,
    frequency: p.frequency,
    days: p.days,
  };
}

/** For callers that sort events by kind: the kinds this writer exports. */
export const TOWNSHIP_HIS_KINDS: readonly CareEvent['kind'][] = ['visit', 'immunization', 'referral'];
