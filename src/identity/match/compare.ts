import type { AddressLevel, BirthDateLevel, FieldLevels, NameLevel, PhoneLevel, SexLevel } from './rules.ts';
import { readings } from './normalize.ts';
import type { MatchRecord } from './record.ts';

/**
 * Field comparisons: each returns the level two records agree at, or undefined when either
 * lacks the field (a missing value is no evidence either way).
 */

/**
 * Names character by character. A different character that shares a pinyin reading is a
 * homophone (the usual input-method typo: 明/铭); one non-homophone character apart outside
 * the surname is `one-char` (a typo — or a sibling: the rules cap it); anything else differs.
 */
export function compareNames(a: readonly string[], b: readonly string[]): NameLevel | undefined {
  if (a.length === 0 || b.length === 0) return undefined;
  if (a.length !== b.length) return 'different';
  let homophones = 0;
  let mismatches = 0;
  let surnameMismatch = false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue;
    const ra = readings(a[i]!);
    const rb = readings(b[i]!);
    if (ra.some((r) => rb.includes(r))) homophones++;
    else {
      mismatches++;
      if (i === 0) surnameMismatch = true;
    }
  }
  if (mismatches === 0) return homophones === 0 ? 'exact' : 'homophone';
  if (mismatches === 1 && !surnameMismatch && a.length >= 2) return 'one-char';
  return 'different';
}

/** Birth dates: equal, day and month swapped (a clerk's habit), one digit apart, or different. */
export function compareBirthDates(a?: string, b?: string): BirthDateLevel | undefined {
  if (!a || !b) return undefined;
  if (a === b) return 'exact';
  const [ya, ma, da] = a.split('-');
  const [yb, mb, db] = b.split('-');
  if (ya === yb && ma === db && da === mb) return 'day-month-swapped';
  const da8 = a.replace(/-/g, '');
  const db8 = b.replace(/-/g, '');
  let diff = 0;
  for (let i = 0; i < 8; i++) if (da8[i] !== db8[i]) diff++;
  return diff === 1 ? 'one-digit' : 'different';
}

export function compareSex(a?: string, b?: string): SexLevel | undefined {
  if (!a || !b) return undefined;
  return a === b ? 'same' : 'different';
}

/** Phones: shared when any number is on both records (households share numbers: weighted so). */
export function comparePhones(a: readonly string[], b: readonly string[]): PhoneLevel | undefined {
  if (a.length === 0 || b.length === 0) return undefined;
  return a.some((p) => b.includes(p)) ? 'shared' : 'different';
}

export function compareAddresses(a: MatchRecord, b: MatchRecord): AddressLevel | undefined {
  if (!a.address || !b.address) return undefined;
  if (a.address === b.address) return 'exact';
  if (a.village && a.village === b.village) return 'same-village';
  return 'different';
}

/** Every field the two records can be compared on. */
export function compareRecords(a: MatchRecord, b: MatchRecord): Partial<FieldLevels> {
  const levels: Partial<FieldLevels> = {};
  const name = compareNames(a.name, b.name);
  if (name) levels.name = name;
  const birthDate = compareBirthDates(a.birthDate, b.birthDate);
  if (birthDate) levels.birthDate = birthDate;
  const sex = compareSex(a.sex, b.sex);
  if (sex) levels.sex = sex;
  const phone = comparePhones(a.phones, b.phones);
  if (phone) levels.phone = phone;
  const address = compareAddresses(a, b);
  if (address) levels.address = address;
  return levels;
}
