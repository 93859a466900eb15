import { createHash } from 'node:crypto';
import type { Patient } from 'fhir/r4';
import type { Demographics } from '../golden/golden-patient.ts';
import { checkNationalId, NATIONAL_ID_SYSTEM } from '../national-id.ts';
import {
  nameChars,
  namePinyinKey,
  normalizeAddress,
  normalizePhone,
  surnamePinyin,
  villageOf,
} from './normalize.ts';

export type Sex = 'male' | 'female';

/** What the matcher knows about one source record, normalised once. */
export interface MatchRecord {
  /** `Patient/{id}` of the source record. */
  ref: string;
  institution?: string;
  /** The national ID when it verifies (check digit, real date), with what it encodes. */
  nationalId?: { value: string; birthDate: string; sex: Sex };
  insurance?: string;
  healthCard?: string;
  /** Normalised name characters (variants simplified). */
  name: string[];
  namePinyin: string;
  surnamePinyin: string;
  /** `YYYY-MM-DD`, only when the record has a full date. */
  birthDate?: string;
  sex?: Sex;
  phones: string[];
  address?: string;
  village?: string;
}

/** The systems the matcher reads, under the canonical base. */
export function identifierSystems(base: string) {
  return {
    nationalId: NATIONAL_ID_SYSTEM,
    insurance: `${base}/sid/insurance`,
    healthCard: `${base}/sid/health-card`,
  };
}

/**
 * A Patient as the matcher sees it. The national ID is verified here, without the record's sex:
 * an ID that verifies but disagrees with the record's birth date or sex is kept (the
 * identifier rules send such a pair to review rather than ignore the ID).
 */
export function matchRecordOf(
  patient: Patient,
  opts: { base: string; institution?: string; today?: Date },
): MatchRecord {
  const systems = identifierSystems(opts.base);
  const idValue = (system: string) => patient.identifier?.find((i) => i.system === system && i.value)?.value;
  const rawNid = idValue(systems.nationalId);
  let nationalId: MatchRecord['nationalId'];
  if (rawNid) {
    const check = checkNationalId(rawNid, opts.today ? { today: opts.today } : {});
    if (check.valid && check.birthDate && check.sex) {
      nationalId = { value: check.value, birthDate: check.birthDate, sex: check.sex };
    }
  }
  const nameText =
    patient.name?.find((n) => n.text)?.text ??
    patient.name?.map((n) => [n.family ?? '', ...(n.given ?? [])].join('')).find((t) => t.length > 0) ??
    '';
  const name = nameChars(nameText);
  const phones = [
    ...new Set(
      (patient.telecom ?? [])
        .filter((t) => t.system === 'phone' || t.system === 'sms' || t.system === undefined)
        .map((t) => (t.value ? normalizePhone(t.value) : undefined))
        .filter((p): p is string => p !== undefined),
    ),
  ].sort();
  const addressText =
    patient.address?.find((a) => a.text || a.line)?.text ?? patient.address?.[0]?.line?.join('');
  const address = addressText ? normalizeAddress(addressText) : undefined;
  const village = address ? villageOf(address) : undefined;
  const birthDate =
    patient.birthDate && /^\d{4}-\d{2}-\d{2}$/.test(patient.birthDate) ? patient.birthDate : undefined;
  const sex = patient.gender === 'male' || patient.gender === 'female' ? patient.gender : undefined;
  const insurance = idValue(systems.insurance);
  const healthCard = idValue(systems.healthCard);
  return {
    ref: `Patient/${patient.id ?? ''}`,
    ...(opts.institution ? { institution: opts.institution } : {}),
    ...(nationalId ? { nationalId } : {}),
    ...(insurance ? { insurance } : {}),
    ...(healthCard ? { healthCard } : {}),
    name,
    namePinyin: namePinyinKey(name),
    surnamePinyin: surnamePinyin(name),
    ...(birthDate ? { birthDate } : {}),
    ...(sex ? { sex } : {}),
    phones,
    ...(address ? { address } : {}),
    ...(village ? { village } : {}),
  };
}

/**
 * What a record is compared by: the normalised record and the demographics kept for the golden
 * record. Unchanged, a record is not matched again (the linker and the bulk loader agree on it).
 */
export function matchHashOf(record: MatchRecord, demographics: Demographics): string {
  return createHash('sha256').update(JSON.stringify({ record, demographics })).digest('hex');
}
