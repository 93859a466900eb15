/**
 * Deterministic synthetic residents and lab results for the search benchmark: Patients with a
 * resident identity number (urn:oid:2.16.156.10011.1.3, 18 characters) and Chinese names, and
 * Observations with a LOINC code, a date within five years and a valueQuantity.
 */

import { nationalIdCheckChar } from '../../src/identity/national-id.ts';

export const RESIDENT_ID_SYSTEM = 'urn:oid:2.16.156.10011.1.3';

/** A small fast seeded PRNG (mulberry32): the same seed gives the same data set. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const FAMILY = [
  '王',
  '李',
  '张',
  '刘',
  '陈',
  '杨',
  '黄',
  '赵',
  '吴',
  '周',
  '徐',
  '孙',
  '马',
  '朱',
  '胡',
  '郭',
  '何',
  '林',
  '罗',
  '高',
];
// About one given name in eight holds 秀, so `name:contains=秀` matches a realistic share.
export const GIVEN = [
  '秀英',
  '伟',
  '芳',
  '娜',
  '敏',
  '静',
  '丽',
  '强',
  '磊',
  '军',
  '洋',
  '勇',
  '艳',
  '杰',
  '娟',
  '涛',
  '明',
  '超',
  '秀兰',
  '霞',
  '平',
  '刚',
  '桂英',
  '建华',
  '文',
  '华',
  '红',
  '玉兰',
  '秀珍',
  '志强',
  '建国',
  '海燕',
];

/** [code, display, unit, low, high] of common lab and vital-sign LOINC codes. */
export const LOINC: [string, string, string, number, number][] = [
  ['2345-7', 'Glucose [Mass/volume] in Serum or Plasma', 'mg/dL', 70, 200],
  ['4548-4', 'Hemoglobin A1c/Hemoglobin.total in Blood', '%', 4.5, 10],
  ['2093-3', 'Cholesterol [Mass/volume] in Serum or Plasma', 'mg/dL', 120, 280],
  ['2571-8', 'Triglyceride [Mass/volume] in Serum or Plasma', 'mg/dL', 50, 400],
  ['2085-9', 'HDL Cholesterol', 'mg/dL', 25, 90],
  ['18262-6', 'LDL Cholesterol (direct)', 'mg/dL', 50, 190],
  ['2160-0', 'Creatinine [Mass/volume] in Serum or Plasma', 'mg/dL', 0.5, 2],
  ['3094-0', 'Urea nitrogen [Mass/volume] in Serum or Plasma', 'mg/dL', 7, 30],
  ['1742-6', 'Alanine aminotransferase [Enzymatic activity/volume]', 'U/L', 5, 80],
  ['1920-8', 'Aspartate aminotransferase [Enzymatic activity/volume]', 'U/L', 5, 80],
  ['718-7', 'Hemoglobin [Mass/volume] in Blood', 'g/dL', 9, 18],
  ['6690-2', 'Leukocytes [#/volume] in Blood', '10*3/uL', 3, 12],
  ['777-3', 'Platelets [#/volume] in Blood', '10*3/uL', 120, 420],
  ['2951-2', 'Sodium [Moles/volume] in Serum or Plasma', 'mmol/L', 130, 150],
  ['2823-3', 'Potassium [Moles/volume] in Serum or Plasma', 'mmol/L', 3, 5.5],
  ['8480-6', 'Systolic blood pressure', 'mm[Hg]', 95, 180],
  ['8462-4', 'Diastolic blood pressure', 'mm[Hg]', 55, 110],
  ['8867-4', 'Heart rate', '/min', 50, 120],
  ['29463-7', 'Body weight', 'kg', 40, 110],
  ['39156-5', 'Body mass index (BMI) [Ratio]', 'kg/m2', 16, 35],
];

const VITAL = new Set(['8480-6', '8462-4', '8867-4', '29463-7', '39156-5']);
const FIVE_YEARS_MS = 5 * 365.25 * 24 * 3600 * 1000;
const START_MS = Date.UTC(2021, 0, 1);

/**
 * The n-th resident's identity number: region, birth date, sequence, ISO 7064 check character.
 * (date, sequence) is distinct for every n below 25,000, so identifiers never collide.
 */
export function residentId(n: number): { value: string; birthDate: string; gender: 'male' | 'female' } {
  const birth = new Date(Date.UTC(1940, 0, 1) + ((n * 7919) % 25_000) * 86_400_000);
  const ymd = birth.toISOString().slice(0, 10).replaceAll('-', '');
  const seq = n % 1000;
  const body = `332522${ymd}${String(seq).padStart(3, '0')}`;
  return {
    value: body + nationalIdCheckChar(body),
    birthDate: birth.toISOString().slice(0, 10),
    gender: seq % 2 ? 'male' : 'female',
  };
}

export function patient(n: number, id: string, rnd: () => number): Record<string, any> {
  const r = residentId(n);
  const family = FAMILY[Math.floor(rnd() * FAMILY.length)]!;
  const given = GIVEN[Math.floor(rnd() * GIVEN.length)]!;
  return {
    resourceType: 'Patient',
    id,
    identifier: [{ use: 'official', system: RESIDENT_ID_SYSTEM, value: r.value }],
    name: [{ use: 'official', text: family + given, family, given: [given] }],
    gender: r.gender,
    birthDate: r.birthDate,
  };
}

export function observation(id: string, patientId: string, rnd: () => number): Record<string, any> {
  const [code, display, unit, low, high] = LOINC[Math.floor(rnd() * LOINC.length)]!;
  const when = new Date(START_MS + Math.floor(rnd() * FIVE_YEARS_MS));
  const category = VITAL.has(code) ? 'vital-signs' : 'laboratory';
  return {
    resourceType: 'Observation',
    id,
    status: 'final',
    category: [
      { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: category }] },
    ],
    code: { coding: [{ system: 'http://loinc.org', code, display }] },
    subject: { reference: `Patient/${patientId}` },
    // China Standard Time, as a county hospital's system would write it.
    effectiveDateTime: new Date(when.getTime() + 8 * 3600_000).toISOString().slice(0, 19) + '+08:00',
    valueQuantity: {
      value: Math.round((low + rnd() * (high - low)) * 10) / 10,
      unit,
      system: 'http://unitsofmeasure.org',
      code: unit,
    },
  };
}
