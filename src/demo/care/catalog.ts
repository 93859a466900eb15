import type { CodedItem } from '../types.ts';

/**
 * The clinical vocabulary the care generator draws from: diagnoses (ICD-10), drugs (local
 * `drug-cn`-style codes, keyed by their ATC class so a reader can tell what they are), lab
 * panels (LOINC, with the units and reference ranges of a Chinese hospital lab), read reports
 * and the national immunization programme's vaccines. Facts only: no patient data here.
 */

const icd = (code: string, name: string): CodedItem => ({ system: 'icd-10', code, name });

export const DIAGNOSES = {
  hypertension: icd('I10', '原发性高血压'),
  diabetes: icd('E11.9', '2型糖尿病'),
  copd: icd('J44.9', '慢性阻塞性肺疾病'),
  chd: icd('I25.1', '动脉粥样硬化性心脏病'),
  heartFailure: icd('I50.9', '心力衰竭'),
  copdExacerbation: icd('J44.1', '慢性阻塞性肺疾病伴急性加重'),
  pneumonia: icd('J18.9', '肺炎'),
  angina: icd('I20.0', '不稳定型心绞痛'),
  stroke: icd('I63.9', '脑梗死'),
  urti: icd('J06.9', '急性上呼吸道感染'),
  gastritis: icd('K29.7', '胃炎'),
  backPain: icd('M54.5', '腰痛'),
  gastroenteritis: icd('A09', '感染性腹泻'),
  bronchitis: icd('J20.9', '急性支气管炎'),
  hyperglycaemia: icd('E11.6', '2型糖尿病伴并发症'),
  gastricUlcer: icd('K25.9', '胃溃疡'),
  cholecystitis: icd('K81.9', '胆囊炎'),
  fracture: icd('S72.0', '股骨颈骨折'),
} as const;

export interface Drug {
  item: CodedItem;
  dose: number;
  doseUnit: string;
  frequency: string;
}

const drug = (code: string, name: string, dose: number, doseUnit: string, frequency: string): Drug => ({
  item: { system: 'drug-cn', code, name },
  dose,
  doseUnit,
  frequency,
});

/** Local drug codes: `X` + ATC code + a product number, the shape of a county formulary. */
export const DRUGS = {
  amlodipine: drug('XC08CAA001', '苯磺酸氨氯地平片', 5, 'mg', 'qd'),
  nifedipine: drug('XC08CAF002', '硝苯地平控释片', 30, 'mg', 'qd'),
  enalapril: drug('XC09AAA003', '马来酸依那普利片', 10, 'mg', 'qd'),
  losartan: drug('XC09CAL004', '氯沙坦钾片', 50, 'mg', 'qd'),
  metoprolol: drug('XC07ABM005', '酒石酸美托洛尔片', 25, 'mg', 'bid'),
  metformin: drug('XA10BAM006', '盐酸二甲双胍片', 500, 'mg', 'tid'),
  gliclazide: drug('XA10BBG007', '格列齐特缓释片', 30, 'mg', 'qd'),
  glargine: drug('XA10AEG008', '甘精胰岛素注射液', 12, 'U', 'qd'),
  aspirin: drug('XB01ACA009', '阿司匹林肠溶片', 100, 'mg', 'qd'),
  atorvastatin: drug('XC10AAA010', '阿托伐他汀钙片', 20, 'mg', 'qn'),
  tiotropium: drug('XR03BBT011', '噻托溴铵粉吸入剂', 18, 'μg', 'qd'),
  salbutamol: drug('XR03ACS012', '硫酸沙丁胺醇气雾剂', 200, 'μg', 'prn'),
  amoxicillin: drug('XJ01CAA013', '阿莫西林胶囊', 500, 'mg', 'tid'),
  omeprazole: drug('XA02BCO014', '奥美拉唑肠溶胶囊', 20, 'mg', 'qd'),
  ibuprofen: drug('XM01AEI015', '布洛芬缓释胶囊', 300, 'mg', 'bid'),
  montmorillonite: drug('XA07BCM016', '蒙脱石散', 3, 'g', 'tid'),
} as const;

const loinc = (code: string, name: string): CodedItem => ({ system: 'loinc', code, name });

/** One analyte: its normal range by sex, and the spread a county population shows. */
export interface Analyte {
  item: CodedItem;
  unit: string;
  range: { male: [number, number]; female: [number, number] };
  /** Mean and standard deviation of a healthy adult. */
  mean: number;
  sd: number;
  decimals: number;
}

const analyte = (
  code: string,
  name: string,
  unit: string,
  male: [number, number],
  female: [number, number],
  mean: number,
  sd: number,
  decimals: number,
): Analyte => ({ item: loinc(code, name), unit, range: { male, female }, mean, sd, decimals });

export interface Panel {
  key: 'cbc' | 'bmp' | 'hba1c' | 'lipids' | 'liver';
  item: CodedItem;
  analytes: Analyte[];
}

export const PANELS: Record<Panel['key'], Panel> = {
  cbc: {
    key: 'cbc',
    item: loinc('58410-2', '血常规'),
    analytes: [
      analyte('6690-2', '白细胞计数', '10*9/L', [3.5, 9.5], [3.5, 9.5], 6.2, 1.6, 2),
      analyte('789-8', '红细胞计数', '10*12/L', [4.3, 5.8], [3.8, 5.1], 4.6, 0.45, 2),
      analyte('718-7', '血红蛋白', 'g/L', [130, 175], [115, 150], 136, 14, 0),
      analyte('4544-3', '红细胞压积', '%', [40, 50], [35, 45], 42, 3.5, 1),
      analyte('777-3', '血小板计数', '10*9/L', [125, 350], [125, 350], 220, 55, 0),
    ],
  },
  bmp: {
    key: 'bmp',
    item: loinc('24321-2', '基础代谢生化组合'),
    analytes: [
      analyte('14749-6', '葡萄糖', 'mmol/L', [3.9, 6.1], [3.9, 6.1], 5.2, 0.6, 2),
      analyte('22664-7', '尿素', 'mmol/L', [3.1, 8.0], [2.6, 7.5], 5.3, 1.3, 2),
      analyte('14682-9', '肌酐', 'umol/L', [57, 111], [41, 81], 72, 14, 0),
      analyte('2951-2', '钠', 'mmol/L', [137, 147], [137, 147], 141, 2.2, 1),
      analyte('2823-3', '钾', 'mmol/L', [3.5, 5.3], [3.5, 5.3], 4.2, 0.35, 2),
      analyte('2075-0', '氯', 'mmol/L', [99, 110], [99, 110], 104, 2.5, 1),
    ],
  },
  hba1c: {
    key: 'hba1c',
    item: loinc('4548-4', '糖化血红蛋白'),
    analytes: [analyte('4548-4', '糖化血红蛋白', '%', [4.0, 6.0], [4.0, 6.0], 5.4, 0.35, 1)],
  },
  lipids: {
    key: 'lipids',
    item: loinc('24331-1', '血脂四项'),
    analytes: [
      analyte('14647-2', '总胆固醇', 'mmol/L', [2.8, 5.2], [2.8, 5.2], 4.7, 0.8, 2),
      analyte('14927-8', '甘油三酯', 'mmol/L', [0.45, 1.7], [0.45, 1.7], 1.4, 0.6, 2),
      analyte('14646-4', '高密度脂蛋白胆固醇', 'mmol/L', [1.0, 1.9], [1.0, 1.9], 1.3, 0.25, 2),
      analyte('22748-8', '低密度脂蛋白胆固醇', 'mmol/L', [1.5, 3.4], [1.5, 3.4], 2.8, 0.7, 2),
    ],
  },
  liver: {
    key: 'liver',
    item: loinc('24325-3', '肝功能'),
    analytes: [
      analyte('1742-6', '丙氨酸氨基转移酶', 'U/L', [9, 50], [7, 40], 24, 9, 0),
      analyte('1920-8', '天门冬氨酸氨基转移酶', 'U/L', [15, 40], [13, 35], 23, 7, 0),
      analyte('14631-6', '总胆红素', 'umol/L', [3.4, 20.5], [3.4, 20.5], 11, 4, 1),
      analyte('1751-7', '白蛋白', 'g/L', [40, 55], [40, 55], 44, 3.5, 1),
    ],
  },
};

const local = (code: string, name: string): CodedItem => ({ system: 'local', code, name });

/** Procedures the shared centres read; local codes (each centre's own catalogue), ECG by LOINC. */
export const READ_PROCEDURES = {
  ecg: loinc('11524-6', '常规十二导联心电图'),
  chestXray: local('RAD-DR-CHEST', '胸部正位片(DR)'),
  abdominalUltrasound: local('RAD-US-ABD', '腹部彩超(肝胆胰脾)'),
  headCt: local('RAD-CT-HEAD', '头颅CT平扫'),
  gastricBiopsy: local('PATH-GI-BX', '胃镜活检组织病理检查'),
  gallbladder: local('PATH-GB', '胆囊切除标本病理检查'),
} as const;

/** Vaccines of China's national immunization programme; CVX where one exists, else local. */
export const VACCINES = {
  hepB: { system: 'cvx', code: '08', name: '乙肝疫苗' },
  bcg: { system: 'cvx', code: '19', name: '卡介苗' },
  ipv: { system: 'cvx', code: '10', name: '脊灰灭活疫苗' },
  bopv: { system: 'cvx', code: '178', name: '二价脊灰减毒活疫苗' },
  dtap: { system: 'cvx', code: '20', name: '百白破疫苗' },
  dt: { system: 'local', code: 'NIP-DT', name: '白破疫苗' },
  mmr: { system: 'cvx', code: '03', name: '麻腮风疫苗' },
  jeL: { system: 'local', code: 'NIP-JE-L', name: '乙脑减毒活疫苗' },
  mpsvA: { system: 'local', code: 'NIP-MPSV-A', name: 'A群流脑多糖疫苗' },
  mpsvAC: { system: 'local', code: 'NIP-MPSV-AC', name: 'A群C群流脑多糖疫苗' },
  hepAL: { system: 'local', code: 'NIP-HEPA-L', name: '甲肝减毒活疫苗' },
} as const satisfies Record<string, CodedItem>;

/** The national schedule: vaccine, dose number and age in days at which it is due. */
export const IMMUNIZATION_SCHEDULE: { vaccine: keyof typeof VACCINES; dose: number; ageDays: number }[] = [
  { vaccine: 'hepB', dose: 1, ageDays: 0 },
  { vaccine: 'bcg', dose: 1, ageDays: 0 },
  { vaccine: 'hepB', dose: 2, ageDays: 30 },
  { vaccine: 'ipv', dose: 1, ageDays: 60 },
  { vaccine: 'ipv', dose: 2, ageDays: 90 },
  { vaccine: 'dtap', dose: 1, ageDays: 90 },
  { vaccine: 'bopv', dose: 1, ageDays: 120 },
  { vaccine: 'dtap', dose: 2, ageDays: 120 },
  { vaccine: 'dtap', dose: 3, ageDays: 150 },
  { vaccine: 'hepB', dose: 3, ageDays: 180 },
  { vaccine: 'mpsvA', dose: 1, ageDays: 180 },
  { vaccine: 'mmr', dose: 1, ageDays: 240 },
  { vaccine: 'jeL', dose: 1, ageDays: 240 },
  { vaccine: 'mpsvA', dose: 2, ageDays: 270 },
  { vaccine: 'dtap', dose: 4, ageDays: 540 },
  { vaccine: 'mmr', dose: 2, ageDays: 540 },
  { vaccine: 'hepAL', dose: 1, ageDays: 540 },
  { vaccine: 'jeL', dose: 2, ageDays: 730 },
  { vaccine: 'mpsvAC', dose: 1, ageDays: 1095 },
  { vaccine: 'bopv', dose: 2, ageDays: 1460 },
  { vaccine: 'dt', dose: 1, ageDays: 2190 },
  { vaccine: 'mpsvAC', dose: 2, ageDays: 2190 },
];

/** Family-doctor service packages (签约服务包). */
export const SERVICE_PACKAGES = {
  basic: '基础包',
  elderly: '老年人健康管理包',
  chronic: '慢病管理包(高血压/糖尿病)',
} as const;
