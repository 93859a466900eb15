import type { InstitutionWriter, ReferralEvent } from '../../types.ts';
import {
  csvText,
  institutionProfile,
  localDateTime,
  patientCells,
  practitioner,
  registrationOf,
  renderedFile,
} from './shared.ts';

/** The columns of `mappings/csv/village-referrals.yaml` (its header comment), in order. */
export const VILLAGE_REFERRAL_COLUMNS = [
  '转诊编号',
  '患者编号',
  '姓名',
  '性别',
  '出生日期',
  '身份证号',
  '联系电话',
  '转诊时间',
  '转诊状态',
  '接收机构',
  '转诊原因编码',
  '转诊原因名称',
  '转诊医生工号',
  '转诊医生姓名',
  '备注',
] as const;

/** How the clinic software words a referral's state (the mapping maps these to FHIR codes). */
const STATUS_ZH: Record<ReferralEvent['status'], string> = { active: '已转出', completed: '已接收' };

/** A village clinic's (upward) referrals → `csv:village-referrals`, one row per referral. */
export const renderVillageReferralsCsv: InstitutionWriter = ({
  institutionId,
  events,
  registrations,
  folder,
}) => {
  const referrals = events.filter((e): e is ReferralEvent => e.kind === 'referral');
  if (referrals.length === 0) return [];
  const { charset, timezone } = institutionProfile(institutionId);
  const rows = referrals.map((r) => {
    const reg = registrationOf(registrations, r);
    const doctor = practitioner(r.practitionerId);
    return [
      r.id,
      ...patientCells(reg, timezone, '/'),
      localDateTime(r.time, timezone, '/'),
      STATUS_ZH[r.status],
      r.to,
      r.reason.code,
      r.reason.name,
      doctor?.staffNo,
      doctor?.name.zh,
      r.note,
    ];
  });
  return [
    renderedFile({
      folder,
      institutionId,
      channel: 'csv:village-referrals',
      name: 'village-referrals.csv',
      text: csvText(VILLAGE_REFERRAL_COLUMNS, rows),
      charset,
      controlIds: referrals.map((r) => r.id),
    }),
  ];
};
