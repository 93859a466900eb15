/**
 * The national resident ID (居民身份证号, GB 11643-1999), as CONTRACTS.md "Identifier systems"
 * defines its verification: the ISO 7064 MOD 11-2 check digit, a real birth date (digits 7–14)
 * and the sex digit (17; odd = male). The region prefix is deliberately NOT checked against a
 * table: division codes change, and 81/82/83 (HK/Macao/Taiwan residence permits) and 9…
 * (foreigners' permanent residence) are valid prefixes outside the mainland's code list.
 *
 * A pure module: the mapping uses it to tag unverified IDs, the identity issue to refuse links.
 */

export const NATIONAL_ID_SYSTEM = 'urn:oid:2.16.156.10011.1.3';

export type NationalIdFailure =
  | 'format' // not 17 digits + digit/X (nor a 15-digit legacy number)
  | 'check-digit'
  | 'birth-date' // not a real date, or in the future
  | 'sex'; // the sex digit disagrees with the sex the record states

export interface NationalIdCheck {
  /** Normalised: half-width digits, upper-case X; a 15-digit legacy ID converted to 18. */
  value: string;
  valid: boolean;
  reason?: NationalIdFailure;
  /** `YYYY-MM-DD` from digits 7–14, when they form a real date. */
  birthDate?: string;
  sex?: 'male' | 'female';
  /** The input was a 15-digit legacy ID. */
  converted: boolean;
}

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS = '10X98765432';

/** Full-width digits/X to ASCII, `x` to `X`, spaces removed (people type IDs in groups). */
export function normalizeNationalId(raw: string): string {
  let out = '';
  for (const ch of raw) {
    const code = ch.codePointAt(0)!;
    if (code >= 0xff10 && code <= 0xff19) out += String.fromCharCode(code - 0xff10 + 0x30);
    else if (ch === 'x' || ch === 'Ｘ' || ch === 'ｘ') out += 'X';
    else if (ch === ' ' || ch === '\u3000' || ch === '-') continue;
    else out += ch;
  }
  return out;
}

/** The MOD 11-2 check character for the first 17 digits. */
export function nationalIdCheckChar(first17: string): string {
  if (!/^\d{17}$/.test(first17)) throw new Error('17 digits expected');
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (first17.charCodeAt(i) - 48) * WEIGHTS[i]!;
  return CHECK_CHARS[sum % 11]!;
}

/**
 * A 15-digit ID (issued before 1999: region 6, YYMMDD, sequence 3) as 18 digits: the century
 * `19` is inserted (15-digit IDs were only issued to people born in the 1900s) and the check
 * character appended.
 */
export function convertLegacyNationalId(id15: string): string {
  if (!/^\d{15}$/.test(id15)) throw new Error('15 digits expected');
  const first17 = id15.slice(0, 6) + '19' + id15.slice(6);
  return first17 + nationalIdCheckChar(first17);
}

/**
 * Verifies an ID. `expectedSex` (the record's own gender, when it states one) makes a
 * disagreeing sex digit a failure: the same typo class the check digit cannot catch.
 */
export function checkNationalId(
  raw: string,
  opts: { expectedSex?: 'male' | 'female'; today?: Date } = {},
): NationalIdCheck {
  let value = normalizeNationalId(raw);
  let converted = false;
  if (/^\d{15}$/.test(value)) {
    value = convertLegacyNationalId(value);
    converted = true;
  }
  if (!/^\d{17}[\dX]$/.test(value)) return { value, valid: false, reason: 'format', converted };
  const sex = (value.charCodeAt(16) - 48) % 2 === 1 ? 'male' : 'female';
  const birthDate = realDate(value.slice(6, 14), opts.today ?? new Date());
  const base = { value, converted, sex, ...(birthDate ? { birthDate } : {}) } as const;
  if (nationalIdCheckChar(value.slice(0, 17)) !== value[17]) {
    return { ...base, valid: false, reason: 'check-digit' };
  }
  if (!birthDate) return { ...base, valid: false, reason: 'birth-date' };
  if (opts.expectedSex && opts.expectedSex !== sex) return { ...base, valid: false, reason: 'sex' };
  return { ...base, valid: true };
}

/** `YYYY-MM-DD` when `yyyymmdd` is a calendar date between 1850 and today. */
function realDate(yyyymmdd: string, today: Date): string | undefined {
  const y = Number(yyyymmdd.slice(0, 4));
  const m = Number(yyyymmdd.slice(4, 6));
  const d = Number(yyyymmdd.slice(6, 8));
  if (y < 1850 || m < 1 || m > 12 || d < 1) return undefined;
  const date = new Date(Date.UTC(y, m - 1, d));
  if (date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return undefined; // Feb 30
  if (date.getTime() > today.getTime()) return undefined;
  return `${yyyymmdd.slice(0, 4)}-${yyyymmdd.slice(4, 6)}-${yyyymmdd.slice(6, 8)}`;
}
