import type { CareEvent, Registration } from '../../../../src/demo/types.ts';

/**
 * A hand-built slice of the county for the feed writers' tests: three residents registered at a
 * village clinic (GB 18030), a township health centre (JSON) and a community health centre
 * (FHIR), with events of every kind those institutions send. Values are written out here, not
 * generated, so the tests can state what must come out. Doctors are practitioners of the
 * shipped directory (registry/practitioners.json), by id or 工号.
 */
export const VILLAGE = 'dongcun-village-clinic';
export const TOWNSHIP = 'qiaotou-township-health-centre';
export const COMMUNITY = 'chengguan-community-health-centre';
export const COUNTY = 'county-peoples-hospital';

const reg = (r: Omit<Registration, 'errors'> & { errors?: string[] }): Registration => ({ errors: [], ...r });

export const REGISTRATIONS: Record<string, Registration[]> = {
  [VILLAGE]: [
    reg({
      personId: 'P0000001',
      institutionId: VILLAGE,
      mrn: 'DC0101',
      name: '欧阳明',
      sex: 'male',
      birthDate: '1949-12-31',
      nationalId: '11010519491231002X',
      phone: '13800138000',
    }),
    // A village clinic's record without an ID card number and with a comma in the address.
    reg({
      personId: 'P0000002',
      institutionId: VILLAGE,
      mrn: 'DC0102',
      name: '司马兰',
      sex: 'female',
      errors: ['missing-id'],
    }),
  ],
  [TOWNSHIP]: [
    reg({
      personId: 'P0000001',
      institutionId: TOWNSHIP,
      mrn: 'QT000123',
      name: '欧阳明',
      sex: 'male',
      birthDate: '1949-12-31',
      nationalId: '11010519491231002X',
      phone: '13800138000',
    }),
    reg({
      personId: 'P0000003',
      institutionId: TOWNSHIP,
      mrn: 'QT000456',
      name: '张小宝',
      sex: 'male',
      birthDate: '2025-09-01',
      phone: '13900139000',
    }),
  ],
  [COMMUNITY]: [
    reg({
      personId: 'P0000002',
      institutionId: COMMUNITY,
      mrn: 'CG-7781',
      name: '司马兰',
      sex: 'female',
      birthDate: '1962-07-08',
      phone: '13700137000',
      addressText: '浙江省青山县城关街道新华社区3幢',
      insuranceNumber: 'ZJ331124000222',
    }),
  ],
};

const T = (d: string, t: string) => `2026-${d}T${t}:00+08:00`;

export const EVENTS: Record<string, CareEvent[]> = {
  [VILLAGE]: [
    {
      kind: 'visit',
      id: 'DCV000001',
      personId: 'P0000001',
      institutionId: VILLAGE,
      time: T('10-08', '08:30'),
      setting: 'outpatient',
      diagnoses: [{ system: 'icd-10', code: 'I10', name: '原发性高血压' }],
      vitals: [
        { kind: 'systolic', value: 148, unit: 'mmHg' },
        { kind: 'diastolic', value: 92, unit: 'mmHg' },
        { kind: 'fasting-glucose', value: 5.6, unit: 'mmol/L' },
      ],
      prescriptions: [
        {
          drug: { system: 'drug-cn', code: 'XC08CAA001', name: '苯磺酸氨氯地平片' },
          dose: 5,
          doseUnit: 'mg',
          frequency: 'qd',
          days: 30,
        },
      ],
    },
    {
      kind: 'visit',
      id: 'DCV000002',
      personId: 'P0000002',
      institutionId: VILLAGE,
      time: T('10-09', '09:05'),
      setting: 'outpatient',
      diagnoses: [{ system: 'icd-10', code: 'E11.9', name: '2型糖尿病' }],
      vitals: [{ kind: 'fasting-glucose', value: 7.1, unit: 'mmol/L' }],
      prescriptions: [],
    },
    {
      kind: 'referral',
      id: 'DCR000001',
      personId: 'P0000001',
      institutionId: VILLAGE,
      practitionerId: 'dongcun-zhou-fugen',
      time: T('10-20', '10:40'),
      direction: 'up',
      to: TOWNSHIP,
      reason: { system: 'icd-10', code: 'I10', name: '原发性高血压' },
      status: 'active',
      note: '血压控制不佳,请上级医院调整用药',
    },
  ],
  [TOWNSHIP]: [
    {
      kind: 'visit',
      id: 'QTV000001',
      personId: 'P0000001',
      institutionId: TOWNSHIP,
      practitionerId: 'qt-xie-dong',
      time: T('10-21', '09:15'),
      end: T('10-21', '09:40'),
      setting: 'outpatient',
      department: '全科',
      diagnoses: [
        { system: 'icd-10', code: 'I10', name: '原发性高血压' },
        { system: 'icd-10', code: 'E11.9', name: '2型糖尿病' },
      ],
      vitals: [
        { kind: 'systolic', value: 152, unit: 'mmHg' },
        { kind: 'diastolic', value: 94, unit: 'mmHg' },
        { kind: 'weight', value: 72.5, unit: 'kg' },
        { kind: 'heart-rate', value: 78, unit: '/min' },
      ],
      prescriptions: [
        {
          drug: { system: 'drug-cn', code: 'XC08CAF002', name: '硝苯地平控释片' },
          dose: 30,
          doseUnit: 'mg',
          frequency: 'qd',
          days: 30,
        },
        {
          drug: { system: 'drug-cn', code: 'XR03ACS012', name: '硫酸沙丁胺醇气雾剂' },
          dose: 200,
          doseUnit: 'ug',
          frequency: 'prn',
          days: 14,
        },
      ],
    },
    {
      kind: 'referral',
      id: 'QTR000001',
      personId: 'P0000001',
      institutionId: TOWNSHIP,
      time: T('10-22', '11:00'),
      direction: 'down',
      to: VILLAGE,
      reason: { system: 'icd-10', code: 'I10', name: '原发性高血压' },
      status: 'completed',
      note: '出院后回村随访血压',
    },
    {
      kind: 'immunization',
      id: 'QTI000001',
      personId: 'P0000003',
      institutionId: TOWNSHIP,
      time: T('11-01', '09:30'),
      vaccine: { system: 'cvx', code: '08', name: '乙肝疫苗' },
      doseNumber: 2,
      lotNumber: '202609A017',
    },
    {
      kind: 'immunization',
      id: 'QTI000002',
      personId: 'P0000003',
      institutionId: TOWNSHIP,
      time: T('11-01', '09:35'),
      vaccine: { system: 'local', code: 'NIP-JE-L', name: '乙脑减毒活疫苗' },
      doseNumber: 1,
      lotNumber: 'JE2026-88',
    },
    {
      kind: 'contract',
      id: 'QTC000001',
      personId: 'P0000001',
      institutionId: TOWNSHIP,
      time: T('01-05', '10:00'),
      doctorStaffNo: 'D017',
      teamNo: 'T01',
      start: '2026-01-05',
      end: '2026-12-31',
      status: 'active',
      servicePackage: '慢病管理包(高血压/糖尿病)',
    },
  ],
  [COMMUNITY]: [
    {
      kind: 'visit',
      id: 'CGV000001',
      personId: 'P0000002',
      institutionId: COMMUNITY,
      practitionerId: 'cg-yang-li',
      time: T('09-01', '08:10'),
      end: T('09-01', '08:35'),
      setting: 'outpatient',
      department: '全科医学科',
      diagnoses: [{ system: 'icd-10', code: 'E11.9', name: '2型糖尿病' }],
      vitals: [
        { kind: 'systolic', value: 128, unit: 'mmHg' },
        { kind: 'diastolic', value: 80, unit: 'mmHg' },
        { kind: 'fasting-glucose', value: 7.4, unit: 'mmol/L' },
        { kind: 'temperature', value: 36.6, unit: '℃' },
      ],
      prescriptions: [
        {
          drug: { system: 'drug-cn', code: 'XA10BAM006', name: '盐酸二甲双胍片' },
          dose: 500,
          doseUnit: 'mg',
          frequency: 'tid',
          days: 30,
        },
      ],
    },
    {
      kind: 'lab-report',
      id: 'CGL000001',
      personId: 'P0000002',
      institutionId: COMMUNITY,
      time: T('09-01', '11:20'),
      orderedBy: COMMUNITY,
      panel: { system: 'loinc', code: '24331-1', name: '血脂四项' },
      specimenTime: T('09-01', '08:20'),
      results: [
        {
          item: { system: 'loinc', code: '2093-3', name: '总胆固醇' },
          value: 6.1,
          unit: 'mmol/L',
          low: 2.8,
          high: 5.2,
          flag: 'H',
        },
        {
          item: { system: 'local', code: 'LDL-C', name: '低密度脂蛋白胆固醇' },
          value: 3.2,
          unit: 'mmol/L',
          flag: 'N',
        },
      ],
    },
    {
      kind: 'ecg-report',
      id: 'CGE000001',
      personId: 'P0000002',
      institutionId: COMMUNITY,
      time: T('09-02', '10:00'),
      orderedBy: COMMUNITY,
      procedure: { system: 'loinc', code: '11524-6', name: '十二导联心电图' },
      findings: '窦性心律，心率72次/分，ST-T未见明显异常。',
      conclusion: '正常心电图',
    },
    {
      kind: 'referral',
      id: 'CGR000001',
      personId: 'P0000002',
      institutionId: COMMUNITY,
      time: T('09-03', '15:00'),
      direction: 'up',
      to: COUNTY,
      reason: { system: 'icd-10', code: 'E11.9', name: '2型糖尿病' },
      status: 'active',
      note: '血糖控制不佳，转内分泌科',
    },
    {
      kind: 'immunization',
      id: 'CGI000001',
      personId: 'P0000002',
      institutionId: COMMUNITY,
      time: T('10-15', '14:00'),
      vaccine: { system: 'cvx', code: '141', name: '流感疫苗' },
      doseNumber: 1,
      lotNumber: 'FLU2026-031',
    },
    {
      kind: 'contract',
      id: 'CGC000001',
      personId: 'P0000002',
      institutionId: COMMUNITY,
      time: T('02-01', '09:00'),
      doctorStaffNo: 'S011',
      teamNo: 'CG01',
      start: '2026-02-01',
      end: '2027-01-31',
      status: 'active',
      servicePackage: '基础包',
    },
  ],
};

export const registrationsOf = (institutionId: string): ReadonlyMap<string, Registration> =>
  new Map((REGISTRATIONS[institutionId] ?? []).map((r) => [r.personId, r]));

export const input = (institutionId: string, kinds?: CareEvent['kind'][]) => ({
  institutionId,
  events: (EVENTS[institutionId] ?? []).filter((e) => !kinds || kinds.includes(e.kind)),
  registrations: registrationsOf(institutionId),
  folder: 'messages/2-care',
});
