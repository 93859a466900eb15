import type { LabReportEvent, ReadReportEvent, Registration, VisitEvent } from '../../types.ts';
import type { DirectoryPractitioner } from '../../care/directory.ts';
import { esc, hl7Time, msh, pid, segment } from './er7.ts';

/** One rendered message: its control id, the time it is about, and its ER7 text (CR-ended segments). */
export interface Hl7Message {
  controlId: string;
  time: string;
  text: string;
}

export interface Sender {
  application: string;
  facility: string;
  charset: string;
}

const CLASS = { outpatient: 'O', inpatient: 'I', emergency: 'E' } as const;

const join = (segments: string[]) => segments.join('\r') + '\r';

/** XCN: staff number, then the whole Chinese name in the family-name component. */
function xcn(p: DirectoryPractitioner | undefined): string | undefined {
  return p ? `${esc(p.staffNo)}^${esc(p.name.zh)}` : undefined;
}

/**
 * A visit as ADT: outpatient/emergency → A04; inpatient → A01 at admission and, once
 * discharged, A03 at discharge. PV1-19 the visit number (the event id), PV1-44/45 the times;
 * DG1 the diagnoses (admitting on A01, final on A03).
 */
export function visitMessages(
  e: VisitEvent,
  reg: Registration,
  s: Sender,
  doctor: DirectoryPractitioner | undefined,
): Hl7Message[] {
  const triggers: { trigger: string; time: string; dgType: string }[] =
    e.setting === 'inpatient'
      ? [
          { trigger: 'A01', time: e.time, dgType: 'A' },
          ...(e.end ? [{ trigger: 'A03', time: e.end, dgType: 'F' }] : []),
        ]
      : [{ trigger: 'A04', time: e.time, dgType: 'F' }];
  return triggers.map(({ trigger, time, dgType }) => {
    const controlId = `${e.id}-${trigger}`;
    const structure = trigger === 'A03' ? 'ADT_A03' : 'ADT_A01';
    const pv1 = segment('PV1', {
      1: '1',
      2: CLASS[e.setting],
      3: e.department ? `${esc(e.department)}^^^${s.facility}` : undefined,
      7: xcn(doctor),
      10: e.department ? esc(e.department) : undefined,
      19: e.id,
      44: hl7Time(e.time),
      45: trigger === 'A03' && e.end ? hl7Time(e.end) : undefined,
    });
    const dg1 = e.diagnoses.map((d, i) =>
      segment('DG1', {
        1: String(i + 1),
        3: `${esc(d.code)}^${esc(d.name)}^${d.system === 'icd-10' ? 'I10' : 'L'}`,
        5: hl7Time(e.time),
        6: dgType,
      }),
    );
    return {
      controlId,
      time,
      text: join([
        msh({ ...s, time, type: `ADT^${trigger}^${structure}`, controlId }),
        segment('EVN', { 1: trigger, 2: hl7Time(time), 6: hl7Time(time) }),
        pid(reg, s.facility),
        pv1,
        ...dg1,
      ]),
    };
  });
}

/** A plain registration (the institution's patient index), as ADT^A28 without a visit. */
export function registrationMessage(reg: Registration, s: Sender, time: string): Hl7Message {
  const controlId = `A28-${reg.mrn}`;
  return {
    controlId,
    time,
    text: join([
      msh({ ...s, time, type: 'ADT^A28^ADT_A05', controlId }),
      segment('EVN', { 1: 'A28', 2: hl7Time(time) }),
      pid(reg, s.facility),
      segment('PV1', { 1: '1', 2: 'N' }),
    ]),
  };
}

const SECTION = {
  'lab-report': 'LAB',
  'ecg-report': 'EC',
  'imaging-report': 'RAD',
  'pathology-report': 'SP',
} as const;

/** A lab panel or a read report as ORU^R01: OBR-24 the section (LAB, EC, RAD, SP). */
export function reportMessage(
  e: LabReportEvent | ReadReportEvent,
  reg: Registration,
  s: Sender,
  orderedByName: string,
  reader: DirectoryPractitioner | undefined,
): Hl7Message {
  const controlId = `${e.id}-R01`;
  const code = e.kind === 'lab-report' ? e.panel : e.procedure;
  const observed = e.kind === 'lab-report' ? e.specimenTime : e.time;
  const obr = segment('OBR', {
    1: '1',
    2: `P${e.id}`,
    3: e.id,
    4: `${esc(code.code)}^${esc(code.name)}^${code.system === 'loinc' ? 'LN' : 'L'}`,
    7: hl7Time(observed),
    22: hl7Time(e.time),
    24: SECTION[e.kind],
    25: 'F',
    // OBR-32 (principal result interpreter) is an NDL whose first component is a CNN: sub-components.
    32: reader ? `${esc(reader.staffNo)}&${esc(reader.name.zh)}` : undefined,
  });
  const orc = segment('ORC', { 1: 'RE', 2: `P${e.id}`, 3: e.id, 21: esc(orderedByName) });
  const obx =
    e.kind === 'lab-report'
      ? e.results.map((r, i) =>
          segment('OBX', {
            1: String(i + 1),
            2: typeof r.value === 'number' ? 'NM' : 'ST',
            3: `${esc(r.item.code)}^${esc(r.item.name)}^${r.item.system === 'loinc' ? 'LN' : 'L'}`,
            5: esc(String(r.value)),
            6: r.unit ? `${esc(r.unit)}^${esc(r.unit)}^UCUM` : undefined,
            7: r.low !== undefined && r.high !== undefined ? `${r.low}-${r.high}` : undefined,
            8: r.flag,
            11: 'F',
            14: hl7Time(e.specimenTime),
          }),
        )
      : readObservations(e);
  return {
    controlId,
    time: e.time,
    text: join([
      msh({ ...s, time: e.time, type: 'ORU^R01^ORU_R01', controlId }),
      pid(reg, s.facility),
      orc,
      obr,
      ...obx,
    ]),
  };
}

/** Findings as TX and the conclusion as ST (pathology: FT), coded per report kind. */
function readObservations(e: ReadReportEvent): string[] {
  const codes = {
    'ecg-report': [
      ['ECG-FINDINGS', '心电图所见', 'L'],
      ['ECG-CONCLUSION', '心电图诊断', 'L'],
    ],
    'imaging-report': [
      ['18782-3', '影像所见', 'LN'],
      ['19005-8', '影像诊断', 'LN'],
    ],
    'pathology-report': [
      ['PATH-FINDINGS', '病理所见', 'L'],
      ['22637-3', '病理诊断', 'LN'],
    ],
  }[e.kind];
  const conclusionType = e.kind === 'pathology-report' ? 'FT' : 'ST';
  return [
    [codes[0]!, 'TX', e.findings],
    [codes[1]!, conclusionType, e.conclusion],
  ].map(([code, type, text], i) =>
    segment('OBX', {
      1: String(i + 1),
      2: type as string,
      3: (code as string[]).map(esc).join('^'),
      5: esc(text as string),
      11: 'F',
      14: hl7Time(e.time),
    }),
  );
}
