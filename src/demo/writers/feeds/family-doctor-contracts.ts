import type { ContractEvent, InstitutionWriter } from '../../types.ts';
import {
  csvText,
  institutionProfile,
  localDate,
  patientCells,
  practitioner,
  practitionerByStaffNo,
  registrationOf,
  renderedFile,
} from './shared.ts';

/** The columns of `mappings/csv/family-doctor-contracts.yaml` (its header comment), in order. */
export const FAMILY_DOCTOR_CONTRACT_COLUMNS = [
  '签约编号',
  '居民编号',
  '姓名',
  '性别',
  '出生日期',
  '身份证号',
  '联系电话',
  '签约医生工号',
  '签约医生姓名',
  '团队编号',
  '签约日期',
  '到期日期',
  '解约日期',
  '签约状态',
  '服务包',
] as const;

/** The roster's words for a contract's state: a finished contract ran to its end date. */
const STATUS_ZH: Record<ContractEvent['status'], string> = { active: '有效', finished: '已到期' };

/** A township or community centre's family-doctor contracts → `csv:family-doctor-contracts`. */
export const renderFamilyDoctorContractsCsv: InstitutionWriter = ({
  institutionId,
  events,
  registrations,
  folder,
}) => {
  const contracts = events.filter((e): e is ContractEvent => e.kind === 'contract');
  if (contracts.length === 0) return [];
  const { charset, timezone } = institutionProfile(institutionId);
  const rows = contracts.map((c) => {
    const reg = registrationOf(registrations, c);
    const doctor = practitionerByStaffNo(institutionId, c.doctorStaffNo) ?? practitioner(c.practitionerId);
    return [
      c.id,
      ...patientCells(reg, timezone, '-'),
      c.doctorStaffNo,
      doctor?.name.zh,
      c.teamNo,
      localDate(c.start, timezone, '-'),
      localDate(c.end, timezone, '-'),
      undefined, // 解约日期: the care generator's contracts run to their end
      STATUS_ZH[c.status],
      c.servicePackage,
    ];
  });
  return [
    renderedFile({
      folder,
      institutionId,
      channel: 'csv:family-doctor-contracts',
      name: 'family-doctor-contracts.csv',
      text: csvText(FAMILY_DOCTOR_CONTRACT_COLUMNS, rows),
      charset,
      controlIds: contracts.map((c) => c.id),
    }),
  ];
};
