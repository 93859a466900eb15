/**
 * The person whose summary the benchmark asks for: about 1,000 resources from five institutions
 * over three years — a hypertensive, diabetic resident followed by the village clinic and the
 * township centre, with the county hospital's visits and referrals, the shared lab's panels and the
 * community centre's vaccinations. Some facts arrive from two institutions (the same lab result
 * from the lab and the hospital's LIS, a village BP reading also entered at the township, the
 * same diagnosis everywhere), so the summary's merging has real work to do.
 */
import { prng } from '../repository/seed-data.ts';
import {
  BASE,
  category,
  clinicalStatus,
  cst,
  dayOf,
  DRUG_CN,
  ICD10,
  ICD10_CN,
  idOf,
  INSTITUTIONS,
  LOINC,
  nationalId,
  quantity,
  SNOMED,
  sourcePatient,
  stamp,
  type Institution,
  type InstitutionKey,
  type Json,
} from './shapes.ts';

/** A woman born in January 1952, her ID's sequence number far from the population's. */
const TARGET_RESIDENT = 90 * 30_000 + 4_400;

export interface TargetPerson {
  goldenId: string;
  /** Source Patient id per institution key. */
  sourceIds: Record<InstitutionKey, string>;
  patients: Json[];
  /** Every clinical resource (the Patients not included). */
  resources: Json[];
  /** The institution whose clinician asks (it saw the person six days ago). */
  viewer: string;
}

const PANELS: { code: string; name: string; members: [string, string, string, number, number][] }[] = [
  {
    code: '58410-2',
    name: '血常规',
    members: [
      ['6690-2', '白细胞计数', '10*9/L', 3.5, 9.5],
      ['718-7', '血红蛋白', 'g/L', 115, 150],
      ['777-3', '血小板计数', '10*9/L', 125, 350],
      ['789-8', '红细胞计数', '10*12/L', 3.8, 5.1],
      ['785-6', '平均红细胞血红蛋白量', 'pg', 27, 34],
    ],
  },
  {
    code: '24321-2',
    name: '基础代谢生化组合',
    members: [
      ['2345-7', '葡萄糖', 'mmol/L', 4.5, 9.5],
      ['2160-0', '肌酐', 'umol/L', 50, 110],
      ['3094-0', '尿素氮', 'mmol/L', 3, 8],
      ['2951-2', '钠', 'mmol/L', 136, 145],
      ['2823-3', '钾', 'mmol/L', 3.5, 5.3],
    ],
  },
  {
    code: '24331-1',
    name: '血脂四项',
    members: [
      ['2093-3', '总胆固醇', 'mmol/L', 3.5, 6.8],
      ['2571-8', '甘油三酯', 'mmol/L', 0.8, 2.8],
      ['2085-9', '高密度脂蛋白胆固醇', 'mmol/L', 0.9, 1.8],
      ['18262-6', '低密度脂蛋白胆固醇', 'mmol/L', 1.8, 4.5],
    ],
  },
  { code: '4548-4', name: '糖化血红蛋白', members: [['4548-4', '糖化血红蛋白', '%', 6, 8.5]] },
];

export function targetPerson(asOf: Date, seed: number): TargetPerson {
  const rnd = prng(seed);
  const between = (lo: number, hi: number, digits = 1) =>
    Math.round((lo + rnd() * (hi - lo)) * 10 ** digits) / 10 ** digits;
  const goldenId = idOf('target', 'golden');
  const resident = nationalId(TARGET_RESIDENT);
  const keys = Object.keys(INSTITUTIONS) as InstitutionKey[];
  const sourceIds = Object.fromEntries(keys.map((k) => [k, idOf('target', 'patient', k)])) as Record<
    InstitutionKey,
    string
  >;
  const patients = keys.map((k, i) =>
    sourcePatient({
      id: sourceIds[k],
      inst: INSTITUTIONS[k],
      mrn: `T${1000 + i}`,
      resident,
      // The village clinic writes what it hears: a homophone of the name.
      name: k === 'village' ? '王秀音' : '王秀英',
      ...(k === 'lab' ? {} : { phone: '13905790001' }),
      goldenId,
    }),
  );

  const out: Json[] = [];
  let n = 0;
  /** A resource of `k` about the person, stamped as written from message `message`. */
  const add = (k: InstitutionKey, message: string, r: Json): Json => {
    const inst: Institution = INSTITUTIONS[k];
    const subjectField = ['AllergyIntolerance', 'Immunization'].includes(r.resourceType)
      ? 'patient'
      : 'subject';
    const resource = stamp(
      {
        resourceType: r.resourceType,
        id: idOf('target', r.resourceType, n++),
        ...(r.resourceType === 'EpisodeOfCare' ? { patient: { reference: `Patient/${sourceIds[k]}` } } : {}),
        ...(r.resourceType === 'EpisodeOfCare'
          ? {}
          : { [subjectField]: { reference: `Patient/${sourceIds[k]}` } }),
        ...r,
      },
      inst,
      message,
    );
    out.push(resource);
    return resource;
  };
  const ref = (r: Json) => ({ reference: `${r.resourceType}/${r.id}` });
  const org = (k: InstitutionKey) => ({ reference: `Organization/${INSTITUTIONS[k].id}` });

  // ── Encounters, with the vital signs taken at each ────────────────────────────────────────
  const visit = (k: InstitutionKey, days: number, cls: 'AMB' | 'IMP', type: string, length = 0) => {
    const start = cst(asOf, days, 8 + Math.floor(rnd() * 8), Math.floor(rnd() * 60));
    const visitNo = `V-${k}-${days}`;
    return add(k, visitNo, {
      resourceType: 'Encounter',
      identifier: [{ system: `${BASE}/sid/visit/${INSTITUTIONS[k].id}`, value: visitNo }],
      status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: cls },
      type: [{ text: type }],
      period: { start, end: length ? cst(asOf, days - length, 10) : start },
      serviceProvider: org(k),
    });
  };
  const bloodPressure = (k: InstitutionKey, enc: Json, at: string, sys: number, dia: number) =>
    add(k, enc.identifier[0].value, {
      resourceType: 'Observation',
      status: 'final',
      category: category('vital-signs'),
      code: { coding: [{ system: LOINC, code: '85354-9', display: '血压' }] },
      encounter: ref(enc),
      effectiveDateTime: at,
      component: [
        { code: { coding: [{ system: LOINC, code: '8480-6' }] }, valueQuantity: quantity(sys, 'mm[Hg]') },
        { code: { coding: [{ system: LOINC, code: '8462-4' }] }, valueQuantity: quantity(dia, 'mm[Hg]') },
      ],
    });
  const vital = (
    k: InstitutionKey,
    enc: Json,
    at: string,
    code: string,
    display: string,
    value: number,
    unit: string,
  ) =>
    add(k, enc.identifier[0].value, {
      resourceType: 'Observation',
      status: 'final',
      category: category('vital-signs'),
      code: { coding: [{ system: LOINC, code, display }] },
      encounter: ref(enc),
      effectiveDateTime: at,
      valueQuantity: quantity(value, unit),
    });
  const glucose = (k: InstitutionKey, enc: Json, at: string) =>
    add(k, enc.identifier[0].value, {
      resourceType: 'Observation',
      status: 'final',
      category: category('laboratory'),
      code: { coding: [{ system: LOINC, code: '2339-0', display: '血糖（指尖）' }] },
      encounter: ref(enc),
      effectiveDateTime: at,
      valueQuantity: quantity(between(5.5, 9.8), 'mmol/L'),
    });

  // The village doctor's follow-ups twice a month: BP and pulse; some readings also entered at the
  // township when the doctor reports up (same time and value: one entry in the summary).
  for (let i = 0; i < 72; i++) {
    const days = 8 + i * 15;
    const enc = visit('village', days, 'AMB', '高血压随访');
    const at = enc.period.start;
    const [sys, dia] = [Math.round(between(128, 162)), Math.round(between(78, 98))];
    bloodPressure('village', enc, at, sys, dia);
    vital('village', enc, at, '8867-4', '心率', Math.round(between(62, 88)), '/min');
    if (i % 6 === 0) bloodPressure('township', enc, at, sys, dia);
  }
  // The township centre monthly: chronic-disease clinic with BP, weight and finger-stick glucose.
  const townshipVisits: Json[] = [];
  for (let i = 0; i < 36; i++) {
    const enc = visit('township', 6 + i * 30, 'AMB', '慢病门诊');
    townshipVisits.push(enc);
    const at = enc.period.start;
    bloodPressure('township', enc, at, Math.round(between(126, 158)), Math.round(between(76, 96)));
    vital('township', enc, at, '29463-7', '体重', between(61, 66), 'kg');
    glucose('township', enc, at);
  }
  // The community centre: vaccinations and chronic-disease check-ups every two months.
  const communityVisits: Json[] = [];
  for (let i = 0; i < 18; i++) {
    const enc = visit('community', 20 + i * 60, 'AMB', '社区门诊');
    communityVisits.push(enc);
    bloodPressure(
      'community',
      enc,
      enc.period.start,
      Math.round(between(126, 158)),
      Math.round(between(76, 96)),
    );
  }
  // The county hospital: outpatient cardiology and two admissions.
  const countyVisits: Json[] = [];
  for (let i = 0; i < 12; i++) countyVisits.push(visit('county', 45 + i * 90, 'AMB', '心内科门诊'));
  countyVisits.push(
    visit('county', 210, 'IMP', '心内科住院', 7),
    visit('county', 800, 'IMP', '消化内科住院', 5),
  );

  // ── Lab panels: the shared lab every two months; the hospital's LIS repeats a third of them ──
  for (let i = 0; i < 18; i++) {
    const days = 12 + i * 60;
    const at = cst(asOf, days, 8, 30);
    const issued = cst(asOf, days, 11, 0);
    const order = `L-${days}`;
    const copies: InstitutionKey[] = i % 3 === 0 ? ['lab', 'county'] : ['lab'];
    const values = PANELS.map((p) => p.members.map(([, , , lo, hi]) => between(lo, hi)));
    for (const k of copies) {
      PANELS.forEach((panel, p) => {
        const members = panel.members.map(([code, display, unit], m) =>
          add(k, order, {
            resourceType: 'Observation',
            status: 'final',
            category: category('laboratory'),
            code: { coding: [{ system: LOINC, code, display }] },
            effectiveDateTime: at,
            issued: `${issued.slice(0, 19)}+08:00`,
            valueQuantity: quantity(values[p]![m]!, unit),
            performer: [org(k)],
          }),
        );
        add(k, order, {
          resourceType: 'DiagnosticReport',
          status: 'final',
          category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0074', code: 'LAB' }] }],
          code: { coding: [{ system: LOINC, code: panel.code, display: panel.name }] },
          effectiveDateTime: at,
          issued,
          performer: [org(k)],
          result: members.map(ref),
        });
      });
    }
  }
  // ECG and imaging reports from the county hospital.
  const report = (days: number, code: string, display: string, conclusion: string, cat: string) =>
    add('county', `R-${code}-${days}`, {
      resourceType: 'DiagnosticReport',
      status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0074', code: cat }] }],
      code: { coding: [{ system: LOINC, code, display }] },
      effectiveDateTime: cst(asOf, days, 10),
      issued: cst(asOf, days, 15),
      performer: [org('county')],
      conclusion,
    });
  for (const days of [45, 210, 500, 800])
    report(days, '11524-6', '常规十二导联心电图', '窦性心律，左心室高电压', 'EC');
  report(210, '36643-5', '胸部正位片', '两肺纹理增多', 'RAD');
  report(700, '36643-5', '胸部正位片', '心肺膈未见明显异常', 'RAD');
  report(800, '24558-9', '腹部彩超', '脂肪肝（轻度）', 'RAD');

  // ── Problems (the same diagnosis from four places: one entry) ─────────────────────────────
  const condition = (
    k: InstitutionKey,
    system: string,
    code: string,
    display: string,
    status: string,
    days: number,
  ) =>
    add(k, `C-${code}-${k}`, {
      resourceType: 'Condition',
      clinicalStatus: clinicalStatus('condition-clinical', status),
      verificationStatus: clinicalStatus('condition-ver-status', 'confirmed'),
      category: [
        {
          coding: [
            { system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'problem-list-item' },
          ],
        },
      ],
      code: { coding: [{ system, code, display }] },
      recordedDate: dayOf(cst(asOf, days)),
    });
  condition('county', ICD10, 'I10', '原发性高血压', 'active', 1000);
  condition('township', ICD10_CN, 'I10.x00', '高血压', 'active', 900);
  condition('village', ICD10_CN, 'I10.x00', '高血压', 'active', 880);
  condition('community', ICD10, 'I10', '原发性高血压', 'active', 700);
  condition('county', ICD10, 'E11.9', '2型糖尿病', 'active', 800);
  condition('township', ICD10_CN, 'E11.900', '2型糖尿病', 'active', 780);
  condition('community', ICD10, 'E11.9', '2型糖尿病', 'active', 600);
  condition('county', ICD10, 'E78.5', '高脂血症', 'active', 500);
  condition('county', ICD10, 'K76.0', '脂肪肝', 'active', 800);
  condition('village', ICD10, 'M17.9', '膝关节骨关节病', 'active', 400);
  condition('county', ICD10, 'K29.7', '胃炎', 'resolved', 800);
  for (const days of [300, 650, 990])
    condition('community', ICD10, 'J06.9', '急性上呼吸道感染', 'resolved', days);
  // Sensitive (PSY, restricted): what the access policy may withhold from a township clinician.
  // The mapping's rule table labels a depression diagnosis PSY + R.
  condition('county', ICD10, 'F32.9', '抑郁发作', 'active', 210).meta.security = [
    { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'PSY' },
    { system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' },
  ];

  // ── Medicines: monthly prescriptions; the recent ones active ──────────────────────────────
  const prescription = (k: InstitutionKey, days: number, code: string, display: string, dose: string) =>
    add(k, `M-${code}-${days}`, {
      resourceType: 'MedicationRequest',
      status: days <= 90 ? 'active' : 'completed',
      intent: 'order',
      medicationCodeableConcept: { coding: [{ system: DRUG_CN, code, display }] },
      authoredOn: dayOf(cst(asOf, days)),
      dosageInstruction: [{ text: dose }],
    });
  for (let i = 0; i < 36; i++) {
    const days = 6 + i * 30;
    prescription('township', days, 'XC08CAA001', '苯磺酸氨氯地平片', '5 mg 每日一次');
    // The village clinic dispenses the same prescription and records it again.
    if (i % 6 === 0) prescription('village', days, 'XC08CAA001', '苯磺酸氨氯地平片', '5 mg 每日一次');
  }
  for (let i = 0; i < 18; i++)
    prescription('community', 20 + i * 60, 'XA10BAA001', '盐酸二甲双胍片', '0.5 g 每日两次');
  for (let i = 0; i < 6; i++)
    prescription('county', 45 + i * 180, 'XC10AAA005', '阿托伐他汀钙片', '20 mg 每晚一次');

  // ── Allergies, immunizations, procedures ──────────────────────────────────────────────────
  const allergy = (k: InstitutionKey, code: string, display: string) =>
    add(k, `A-${code}-${k}`, {
      resourceType: 'AllergyIntolerance',
      clinicalStatus: clinicalStatus('allergyintolerance-clinical', 'active'),
      verificationStatus: clinicalStatus('allergyintolerance-verification', 'confirmed'),
      code: { coding: [{ system: SNOMED, code, display }] },
    });
  for (const k of ['county', 'township', 'community'] as const) allergy(k, '764146007', '青霉素');
  allergy('county', '387406002', '磺胺类药物');
  const vaccine = (k: InstitutionKey, days: number, code: string, display: string) =>
    add(k, `I-${code}-${days}`, {
      resourceType: 'Immunization',
      status: 'completed',
      vaccineCode: { coding: [{ system: 'http://hl7.org/fhir/sid/cvx', code, display }] },
      occurrenceDateTime: dayOf(cst(asOf, days)),
      performer: [{ actor: org(k) }],
    });
  for (const days of [50, 415, 780]) {
    vaccine('community', days, '141', '流感疫苗');
    vaccine('village', days, '141', '流感疫苗');
  }
  for (const days of [600, 630, 720]) vaccine('community', days, '208', '新冠病毒疫苗');
  vaccine('community', 400, '33', '23价肺炎球菌多糖疫苗');
  for (const days of [900, 930, 1080]) vaccine('community', days, '08', '乙型肝炎疫苗');
  for (const [days, display] of [
    [210, '冠状动脉造影'],
    [800, '胃镜检查'],
    [805, '结肠镜检查'],
  ] as const)
    add('county', `P-${days}`, {
      resourceType: 'Procedure',
      status: 'completed',
      code: { text: display },
      performedDateTime: cst(asOf, days, 10),
      performer: [{ actor: org('county') }],
    });

  // ── Referrals (SNOMED 3457005), some still in flight ──────────────────────────────────────
  const referral = (from: InstitutionKey, to: InstitutionKey, days: number, status: string, text: string) =>
    add(from, `S-${from}-${days}`, {
      resourceType: 'ServiceRequest',
      status,
      intent: 'order',
      category: [{ coding: [{ system: SNOMED, code: '3457005', display: '转诊' }] }],
      code: { text },
      authoredOn: cst(asOf, days, 10),
      requester: org(from),
      performer: [org(to)],
    });
  referral('village', 'township', 9, 'active', '血压控制不佳，转镇卫生院');
  referral('township', 'county', 7, 'active', '转县医院心内科评估');
  referral('community', 'county', 30, 'active', '糖尿病眼底检查');
  referral('county', 'township', 200, 'completed', '出院后转回乡镇随访');
  referral('township', 'county', 220, 'completed', '胸闷待查');
  referral('village', 'township', 400, 'completed', '血糖升高');
  referral('township', 'county', 810, 'completed', '上腹痛待查');
  referral('community', 'county', 950, 'revoked', '骨科会诊');

  // ── The family-doctor contract with the township team ─────────────────────────────────────
  const doctor = { reference: 'Practitioner/qt-wang-jianguo', display: '王建国' };
  const team = add('township', 'contract-2026', {
    resourceType: 'CareTeam',
    identifier: [{ system: `${BASE}/sid/source-id/${INSTITUTIONS.township.id}`, value: 'team-T1000' }],
    status: 'active',
    name: '家庭医生团队',
    participant: [
      { role: [{ text: '家庭医生' }], member: doctor, onBehalfOf: org('township') },
      {
        role: [{ text: '乡村医生' }],
        member: { reference: 'Practitioner/dongcun-zhou-fugen', display: '周福根' },
        onBehalfOf: org('village'),
      },
    ],
    managingOrganization: [org('township')],
  });
  add('township', 'contract-2026', {
    resourceType: 'EpisodeOfCare',
    identifier: [{ system: `${BASE}/sid/source-id/${INSTITUTIONS.township.id}`, value: 'contract-T1000' }],
    status: 'active',
    type: [{ coding: [{ system: `${BASE}/CodeSystem/episode-type`, code: 'family-doctor-contract' }] }],
    managingOrganization: org('township'),
    period: { start: dayOf(cst(asOf, 330)), end: dayOf(cst(asOf, -35)) },
    careManager: doctor,
    team: [ref(team)],
  });

  return { goldenId, sourceIds, patients, resources: out, viewer: INSTITUTIONS.township.id };
}
