import type { InstitutionWriter, VisitEvent } from '../../types.ts';
import {
  csvText,
  institutionProfile,
  localDateTime,
  patientCells,
  registrationOf,
  renderedFile,
} from './shared.ts';
import { villageDiagnosisCode } from './village-codes.ts';

/** The columns of `mappings/csv/village-visits.yaml` (its header comment), in order. */
export const VILLAGE_VISIT_COLUMNS = [
  '就诊编号',
  '患者编号',
  '姓名',
  '性别',
  '出生日期',
  '身份证号',
  '联系电话',
  '就诊时间',
  '收缩压',
  '舒张压',
  '空腹血糖',
  '诊断编码',
  '诊断名称',
  '处方药品编码',
  '处方药品名称',
  '剂量',
  '剂量单位',
] as const;

/**
 * A village clinic's visits → `csv:village-visits`, one row per visit. The export has room for
 * one blood pressure, one fasting glucose, one diagnosis and one prescription: the first of each.
 */
export const renderVillageVisitsCsv: InstitutionWriter = ({
  institutionId,
  events,
  registrations,
  folder,
}) => {
  const visits = events.filter((e): e is VisitEvent => e.kind === 'visit');
  if (visits.length === 0) return [];
  const { charset, timezone } = institutionProfile(institutionId);
  const rows = visits.map((v) => {
    const reg = registrationOf(registrations, v);
    const vital = (kind: string) => v.vitals.find((s) => s.kind === kind)?.value;
    const systolic = vital('systolic');
    const diastolic = vital('diastolic');
    const bothBp = systolic !== undefined && diastolic !== undefined;
    const dx = v.diagnoses[0];
    const rx = v.prescriptions[0];
    return [
      v.id,
      ...patientCells(reg, timezone, '/'),
      localDateTime(v.time, timezone, '/'),
      bothBp ? systolic : undefined,
      bothBp ? diastolic : undefined,
      vital('fasting-glucose'),
      dx ? villageDiagnosisCode(dx) : undefined,
      dx?.name,
      rx?.drug.code,
      rx?.drug.name,
      rx?.dose,
      rx?.doseUnit,
    ];
  });
  return [
    renderedFile({
      folder,
      institutionId,
      channel: 'csv:village-visits',
      name: 'village-visits.csv',
      text: csvText(VILLAGE_VISIT_COLUMNS, rows),
      charset,
      controlIds: visits.map((v) => v.id),
    }),
  ];
};
