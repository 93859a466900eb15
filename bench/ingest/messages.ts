/**
 * HL7 v2 messages for the bench, as County People's Hospital (MSH-4 `CPH`) sends them:
 * ADT^A01 with a new MRN and visit each time, and ORU^R01 with one patient and six results.
 * Control ids are `<A|R><tag>-<n>`: the tag (unique per phase of a run) makes every message new to
 * the archive, and the dash ends it, so a phase's rows are exactly those starting `<A|R><tag>-`.
 */
// The same name pools as the search benchmark's residents.
import { FAMILY, GIVEN } from '../repository/seed-data.ts';

const STREETS = ['新华路', '人民路', '解放街', '城东路', '桥头镇中街', '东村'];
const WARDS = ['3W', '4E', '5W', '6E'];

export type MessageKind = 'ADT^A01' | 'ORU^R01';

export interface BenchMessage {
  kind: MessageKind;
  controlId: string;
  text: string;
  /** A resource the message writes, found by identifier (`sid/<kind>/<institution>|value`). */
  search: { type: string; sid: 'mrn' | 'source-id'; value: string };
}

/** `YYYYMMDDHHMMSS` in the hospital's local time (+08:00), which the mapping assumes. */
function hl7Time(ms: number): string {
  return new Date(ms + 8 * 3600_000).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

function msh(app: string, type: string, controlId: string, at: number): string {
  return `MSH|^~\\&|${app}|CPH|HIE|COUNTY|${hl7Time(at)}||${type}|${controlId}|P|2.5.1|||AL|NE|CHN|UNICODE UTF-8`;
}

/** The PID of patient number `n` of this run (same text whenever the same patient is sent). */
function pid(tag: string, n: number): { mrn: string; segment: string } {
  const mrn = `B${tag}${String(n).padStart(7, '0')}`;
  const name = `${FAMILY[n % FAMILY.length]}^${GIVEN[(n >> 4) % GIVEN.length]}`;
  const year = 1930 + (n % 80);
  const dob = `${year}${String((n % 12) + 1).padStart(2, '0')}${String((n % 28) + 1).padStart(2, '0')}`;
  const sex = n % 2 === 0 ? 'F' : 'M';
  const street = `${STREETS[n % STREETS.length]}${(n % 200) + 1}号^^湖州市^浙江省^313100^CHN^H`;
  const phone = `139${String(n % 100_000_000).padStart(8, '0')}`;
  return {
    mrn,
    segment: `PID|1||${mrn}^^^CPH^MR||${name}||${dob}|${sex}|||${street}||^PRN^CP^^^^${phone}`,
  };
}

/** ADT^A01 admitting patient `n` (a new MRN and a new inpatient visit). */
export function adtA01(tag: string, n: number, at = Date.now()): BenchMessage {
  const controlId = `A${tag}-${n}`;
  const { mrn, segment } = pid(tag, n);
  const bed = `${WARDS[n % WARDS.length]}^${300 + (n % 40)}^${(n % 4) + 1}`;
  const text = [
    msh('HIS', 'ADT^A01^ADT_A01', controlId, at),
    `EVN|A01|${hl7Time(at)}`,
    segment,
    `PV1|1|I|${bed}||||||||||||||||V${tag}${n}|||||||||||||||||||||||||${hl7Time(at - 600_000)}`,
  ].join('\r');
  return { kind: 'ADT^A01', controlId, text, search: { type: 'Patient', sid: 'mrn', value: mrn } };
}

const RESULTS: [code: string, name: string, unit: string, range: string, base: number][] = [
  ['6690-2', 'WBC', '10*9/L^10^9/L^UCUM', '3.5-9.5', 6.2],
  ['718-7', 'Hemoglobin', 'g/dL^g/dL^UCUM', '11.0-16.0', 13.5],
  ['777-3', 'Platelets', '10*9/L^10^9/L^UCUM', '125-350', 210],
  ['2345-7', 'Glucose', 'mmol/L^mmol/L^UCUM', '3.9-6.1', 5.4],
  ['2160-0', 'Creatinine', 'umol/L^umol/L^UCUM', '57-111', 80],
  ['1742-6', 'ALT', 'U/L^U/L^UCUM', '9-50', 28],
];

/**
 * ORU^R01 for patient `patient` (one admitted earlier in the run, so the Patient is an update),
 * a new outpatient visit and report `n` with six numeric results.
 */
export function oruR01(
  tag: string,
  n: number,
  patient: { tag: string; n: number },
  at = Date.now(),
): BenchMessage {
  const controlId = `R${tag}-${n}`;
  const { segment } = pid(patient.tag, patient.n);
  const t = hl7Time(at);
  const obx = RESULTS.map(([code, name, unit, range, base], i) => {
    const value = (base * (0.8 + ((n * 7 + i * 13) % 40) / 100)).toFixed(2);
    return `OBX|${i + 1}|NM|${code}^${name}^LN||${value}|${unit}|${range}|N|||F|||${t}`;
  });
  const text = [
    msh('LIS', 'ORU^R01^ORU_R01', controlId, at),
    segment,
    `PV1|1|O|||||||||||||||||L${tag}${n}`,
    `OBR|1|P-${tag}-${n}^HIS|F-${tag}-${n}^LIS|CBC^血常规^L|||${t}|||||||||||||||${t}|||F`,
    ...obx,
  ].join('\r');
  const search = { type: 'Observation', sid: 'source-id' as const, value: `F-${tag}-${n}-6` };
  return { kind: 'ORU^R01', controlId, text, search };
}
