/**
 * Phone and insurance numbers. Each is a bijection of an index (the resident's or the
 * household head's), so numbers are unique without remembering which were handed out, and
 * anyone holding the seed and a person id can recompute them — which is how a registration's
 * `phone-guardian` error finds the household head's mobile without the whole population.
 */
import { DEMO_COUNTY } from '../county.ts';
import { permuteIndex } from './random.ts';

/** Mobile prefixes of the three carriers (all 1[3-9]x). */
const MOBILE_PREFIXES = [
  '130',
  '131',
  '132',
  '133',
  '134',
  '135',
  '136',
  '137',
  '138',
  '139',
  '150',
  '151',
  '152',
  '153',
  '155',
  '156',
  '157',
  '158',
  '159',
  '166',
  '173',
  '177',
  '180',
  '181',
  '182',
  '183',
  '185',
  '186',
  '187',
  '188',
  '189',
  '191',
  '198',
  '199',
] as const;

/** The resident's own mobile: prefix + 8 digits, unique per person index. */
export function mobileFor(seed: string, personIndex: number): string {
  const n = permuteIndex(personIndex, 1e8, seed, 'mobile');
  return MOBILE_PREFIXES[(n + personIndex) % MOBILE_PREFIXES.length]! + String(n).padStart(8, '0');
}

/** A household's fixed line, `0578-` + 7 digits (local numbers never start with 0 or 1). */
export function landlineFor(seed: string, headIndex: number): string {
  const n = permuteIndex(headIndex, 1e6, seed, 'landline');
  return `${DEMO_COUNTY.phoneAreaCode}-${2 + (headIndex % 7)}${String(n).padStart(6, '0')}`;
}

/** Insurance number: county code, two-digit enrolment year, 8 digits unique per person. */
export function insuranceFor(seed: string, personIndex: number, enrolmentYear: number): string {
  const n = permuteIndex(personIndex, 1e8, seed, 'insurance');
  return `${DEMO_COUNTY.divisionCode}${String(enrolmentYear % 100).padStart(2, '0')}${String(n).padStart(8, '0')}`;
}

export function personId(index: number): string {
  return `P${String(index).padStart(7, '0')}`;
}

/** Households are numbered by their head's person index (`H` + 7 digits). */
export function householdId(headIndex: number): string {
  return `H${String(headIndex).padStart(7, '0')}`;
}

export function indexOfId(id: string): number {
  const n = Number(id.slice(1));
  if (!/^[PH]\d{7}$/.test(id)) throw new Error(`not a person or household id: ${id}`);
  return n;
}
