import type { CodedItem, LabResult, ReadReportEvent } from '../types.ts';
import type { Analyte, Panel } from './catalog.ts';
import type { ResidentCare } from './context.ts';

/**
 * Results and read reports. Lab values come from a healthy adult's spread, shifted by the
 * resident's conditions (diabetics' glucose and HbA1c, the lipids of cardiac patients), so
 * flags appear where a clinician would expect them.
 */
export function labEvent(
  c: ResidentCare,
  lab: string,
  orderedBy: string,
  panel: Panel,
  day: number,
  specimenTime: string,
): void {
  if (!c.has(lab)) return;
  const reportDay = Math.max(c.lastDay, day - (lab === orderedBy ? 0 : 1));
  const results = panel.analytes.map((a) => result(c, a));
  c.add({
    kind: 'lab-report',
    id: c.id('L'),
    personId: c.resident.personId,
    institutionId: lab,
    time: c.at(reportDay, c.int(13 * 60, 17 * 60)),
    ...c.by(c.practitioner(lab, 'lab-technician', 'doctor')),
    orderedBy,
    panel: panel.item,
    specimenTime,
    results,
  });
}

/** How a condition moves an analyte's mean (in units of the analyte). */
function shift(c: ResidentCare, code: string): number {
  const chronic = c.resident.chronic;
  const dm = chronic.includes('diabetes');
  const cardiac = chronic.includes('coronary-heart-disease') || chronic.includes('hypertension');
  switch (code) {
    case '4548-4':
      return dm ? c.normal(2.0, 0.8) : 0;
    case '14749-6':
      return dm ? c.normal(2.6, 1.2) : 0;
    case '14647-2':
    case '22748-8':
      return cardiac ? c.normal(0.7, 0.4) : 0;
    case '14927-8':
      return cardiac || dm ? c.normal(0.5, 0.3) : 0;
    case '14682-9':
      return c.age >= 70 ? c.normal(18, 10) : 0;
    default:
      return 0;
  }
}

function result(c: ResidentCare, a: Analyte): LabResult {
  const [low, high] = a.range[c.resident.sex];
  const mean = a.mean * (c.resident.sex === 'female' ? femaleFactor(a) : 1) + shift(c, a.item.code);
  const raw = Math.max(a.mean * 0.1, c.normal(mean, a.sd));
  const f = 10 ** a.decimals;
  const value = Math.round(raw * f) / f;
  return {
    item: a.item,
    value,
    unit: a.unit,
    low,
    high,
    flag: value < low ? 'L' : value > high ? 'H' : 'N',
  };
}

/** Haemoglobin, red cells and creatinine run lower in women; their ranges say so too. */
function femaleFactor(a: Analyte): number {
  const [ml, mh] = a.range.male;
  const [fl, fh] = a.range.female;
  return (fl + fh) / (ml + mh);
}

const ECG_READS = [
  {
    findings: '窦性心律，心率72次/分，PR间期0.16s，QRS时限0.09s，QT/QTc 0.38/0.41s，电轴不偏。',
    conclusion: '正常心电图',
  },
  {
    findings: '窦性心律，心率64次/分，V4-V6导联ST段水平型压低0.05-0.1mV，T波低平。',
    conclusion: '窦性心律；ST-T改变',
  },
  { findings: '窦性心律，心率58次/分，各导联未见明显ST-T异常。', conclusion: '窦性心动过缓' },
  {
    findings: '窦性心律，心率80次/分，SV1+RV5=4.3mV，ST-T未见明显异常。',
    conclusion: '窦性心律；左心室高电压',
  },
  { findings: '心房颤动，平均心室率92次/分，RR间期绝对不等，未见P波。', conclusion: '心房颤动' },
];

const IMAGING_READS: Record<string, { findings: string; conclusion: string }[]> = {
  'RAD-DR-CHEST': [
    {
      findings: '两肺纹理清晰，未见明显实变影；心影大小形态正常；两侧膈面光整，肋膈角锐利。',
      conclusion: '心肺未见明显异常',
    },
    {
      findings: '两肺纹理增多、紊乱，右下肺野见斑片状模糊影；心影不大。',
      conclusion: '右下肺炎症，建议治疗后复查',
    },
    {
      findings: '两肺透亮度增高，肺纹理稀疏，膈肌低平，肋间隙增宽。',
      conclusion: '慢性支气管炎、肺气肿改变',
    },
  ],
  'RAD-US-ABD': [
    {
      findings:
        '肝脏大小形态正常，实质回声均匀；胆囊壁毛糙增厚约4mm，腔内见多个强回声伴声影；胰、脾未见异常。',
      conclusion: '胆囊炎；胆囊多发结石',
    },
    { findings: '肝实质回声增强、细密，后方回声衰减；胆、胰、脾未见明显异常。', conclusion: '轻度脂肪肝' },
  ],
  'RAD-CT-HEAD': [
    {
      findings: '左侧基底节区见片状低密度影，边界欠清；脑室系统未见扩大，中线结构居中。',
      conclusion: '左侧基底节区脑梗死',
    },
    { findings: '双侧侧脑室旁见斑点状低密度影；脑沟脑裂增宽。', conclusion: '腔隙性脑梗死；脑萎缩' },
  ],
  'PATH-GI-BX': [
    {
      findings: '(胃窦)送检黏膜组织4粒，直径0.2-0.3cm。镜下：黏膜慢性炎症伴轻度肠上皮化生，幽门螺杆菌(+)。',
      conclusion: '(胃窦)慢性萎缩性胃炎伴轻度肠化，Hp(+)',
    },
    {
      findings: '(胃角)送检黏膜组织3粒。镜下：溃疡底部见炎性渗出、坏死及肉芽组织，未见异型细胞。',
      conclusion: '(胃角)溃疡，未见恶性证据',
    },
  ],
  'PATH-GB': [
    {
      findings:
        '胆囊一枚，大小7×3×2.5cm，壁厚0.4cm，腔内见结石数枚。镜下：胆囊壁慢性炎细胞浸润，黏膜罗-阿窦形成。',
      conclusion: '慢性结石性胆囊炎',
    },
  ],
};

const CENTRE_ROLE = {
  'ecg-report': 'ecg-physician',
  'imaging-report': 'radiologist',
  'pathology-report': 'pathologist',
} as const;

/** A report read by a shared centre (ECG, imaging, pathology) for an ordering institution. */
export function readReport(
  c: ResidentCare,
  kind: ReadReportEvent['kind'],
  centre: string,
  orderedBy: string,
  procedure: CodedItem,
  day: number,
): void {
  if (!c.has(centre)) return;
  const reads = kind === 'ecg-report' ? ECG_READS : (IMAGING_READS[procedure.code] ?? []);
  if (!reads.length) return;
  const normalFirst = kind === 'ecg-report' && !c.resident.chronic.length && c.chance(0.6);
  const read = normalFirst ? reads[0]! : c.pick(reads);
  const wait = kind === 'pathology-report' ? c.int(3, 5) : 0;
  const reportDay = Math.max(c.lastDay, day - wait);
  c.add({
    kind,
    id: c.id(kind === 'ecg-report' ? 'E' : kind === 'imaging-report' ? 'I' : 'S'),
    personId: c.resident.personId,
    institutionId: centre,
    time: c.at(reportDay, c.int(9 * 60, 17 * 60)),
    ...c.by(c.practitioner(centre, CENTRE_ROLE[kind], 'doctor')),
    orderedBy,
    procedure,
    findings: read.findings,
    conclusion: read.conclusion,
  });
}
