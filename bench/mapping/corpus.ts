/**
 * The messages the mapping bench runs on, rendered by the demo county's own HL7 v2 writer
 * (`src/demo/writers/hl7v2/messages.ts`) for residents of the demo population, as the county
 * people's hospital sends them: ADT^A01 admissions from its HIS (with two admitting diagnoses)
 * and ORU^R01 lab reports from its LIS with a ten-result blood count (the demo's own CBC panel
 * plus the five-part differential a hospital analyser reports). The full demo county is not
 * generated: it has too few admissions for a few thousand of them in reasonable time, and its
 * panels hold 1–6 results. Seeded: the same seed and date give the same bytes.
 */
import { DIAGNOSES, PANELS, type Analyte } from '../../src/demo/care/catalog.ts';
import { loadDirectory } from '../../src/demo/care/index.ts';
import {
  createPopulation,
  registrationFor,
  seededRandom,
  type Rng,
} from '../../src/demo/population/index.ts';
import type { CodedItem, LabReportEvent, LabResult, VisitEvent } from '../../src/demo/types.ts';
import { reportMessage, visitMessages } from '../../src/demo/writers/hl7v2/messages.ts';
import type { Institution } from '../../src/institutions/types.ts';
import { encodeHl7 } from '../../src/parse/hl7v2/index.ts';

export type Kind = 'adt' | 'oru';

export interface BenchMessage {
  /** The message's bytes as the hospital sends them (its registered charset). */
  raw: Buffer;
  institution: Institution;
  segments: number;
  obx: number;
}

export type Corpus = Record<Kind, BenchMessage[]>;

const HOSPITAL = 'county-peoples-hospital';
const loinc = (code: string, name: string): CodedItem => ({ system: 'loinc', code, name });
/** The differential (percent of leukocytes), adult reference ranges. */
const DIFFERENTIAL: [CodedItem, [number, number], number, number][] = [
  [loinc('770-8', '中性粒细胞百分比'), [40, 75], 58, 8],
  [loinc('736-9', '淋巴细胞百分比'), [20, 50], 32, 7],
  [loinc('5905-5', '单核细胞百分比'), [3, 10], 6, 1.5],
  [loinc('713-8', '嗜酸性粒细胞百分比'), [0.4, 8], 2.5, 1.2],
  [loinc('706-2', '嗜碱性粒细胞百分比'), [0, 1], 0.5, 0.25],
];
const ADMITTING = [
  [DIAGNOSES.pneumonia, DIAGNOSES.copd],
  [DIAGNOSES.angina, DIAGNOSES.chd],
  [DIAGNOSES.stroke, DIAGNOSES.hypertension],
  [DIAGNOSES.heartFailure, DIAGNOSES.hypertension],
  [DIAGNOSES.cholecystitis, DIAGNOSES.diabetes],
] as const;
const DEPARTMENTS = ['呼吸内科', '心内科', '神经内科', '心内科', '普外科'];

export function buildCorpus(opts: { perKind: number; seed: string; asOf: string }): Corpus {
  const directory = loadDirectory();
  const entry = directory.institution(HOSPITAL);
  if (!entry) throw new Error(`${HOSPITAL} is not in registry/institutions.json`);
  const institution: Institution = { ...entry, active: true, publicKeys: [], mllpAllowFrom: [] };
  const doctors = directory.staff(HOSPITAL, 'doctor');
  const technicians = directory.staff(HOSPITAL, 'lab-technician');
  const pop = createPopulation({ residents: opts.perKind, seed: opts.seed, asOf: opts.asOf });
  const rng = seededRandom(opts.seed, 'bench-mapping');
  const his = { application: 'HIS', facility: 'CPH', charset: institution.charset };
  const lis = { application: 'LIS', facility: 'CPH-LIS', charset: institution.charset };
  const corpus: Corpus = { adt: [], oru: [] };
  const add = (kind: Kind, text: string) => {
    const segs = text.split('\r').filter((s) => s.length > 0);
    corpus[kind].push({
      raw: encodeHl7(text, institution.charset),
      institution,
      segments: segs.length,
      obx: segs.filter((s) => s.startsWith('OBX')).length,
    });
  };
  pop.residents.forEach((resident, i) => {
    const reg = registrationFor(pop, resident, HOSPITAL, entry.tier);
    const n = String(i + 1).padStart(6, '0');
    const day = `${opts.asOf.slice(0, 8)}${String(1 + (i % 28)).padStart(2, '0')}`;
    const admitted = `${day}T${String(8 + (i % 10)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}:00+08:00`;
    const k = i % ADMITTING.length;
    const visit: VisitEvent = {
      kind: 'visit',
      id: `VB${n}`,
      personId: resident.personId,
      institutionId: HOSPITAL,
      time: admitted,
      setting: 'inpatient',
      department: DEPARTMENTS[k]!,
      diagnoses: [...ADMITTING[k]!],
      vitals: [],
      prescriptions: [],
    };
    const [a01] = visitMessages(visit, reg, his, doctors[i % Math.max(1, doctors.length)]);
    add('adt', a01!.text);
    const lab: LabReportEvent = {
      kind: 'lab-report',
      id: `LB${n}`,
      personId: resident.personId,
      institutionId: HOSPITAL,
      time: admitted.replace(/T\d\d/, 'T16'),
      orderedBy: HOSPITAL,
      panel: PANELS.cbc.item,
      specimenTime: admitted.replace(/T\d\d/, 'T07'),
      results: [
        ...PANELS.cbc.analytes.map((a) => fromAnalyte(rng, a, resident.sex)),
        ...DIFFERENTIAL.map(([item, range, mean, sd]) => labResult(rng, item, '%', range, mean, sd, 1)),
      ],
    };
    add(
      'oru',
      reportMessage(lab, reg, lis, entry.name.zh, technicians[i % Math.max(1, technicians.length)]).text,
    );
  });
  return corpus;
}

function fromAnalyte(rng: Rng, a: Analyte, sex: 'male' | 'female'): LabResult {
  return labResult(rng, a.item, a.unit, a.range[sex], a.mean, a.sd, a.decimals);
}

/** A value around the mean (sum of uniforms ≈ normal), flagged against its range. */
function labResult(
  rng: Rng,
  item: CodedItem,
  unit: string,
  [low, high]: [number, number],
  mean: number,
  sd: number,
  decimals: number,
): LabResult {
  const z = rng.next() + rng.next() + rng.next() + rng.next() - 2; // sd ≈ 0.58
  const value = Number(Math.max(0, mean + z * 1.7 * sd).toFixed(decimals));
  const flag = value < low ? 'L' : value > high ? 'H' : 'N';
  return { item, value, unit, low, high, flag };
}
