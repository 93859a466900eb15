/**
 * Valid national IDs for the demo population: birthplace division code, birth date, a
 * three-digit sequence whose last digit's parity is the sex (odd male), and the MOD 11-2 check
 * character from the project's own `nationalIdCheckChar`.
 */
import { nationalIdCheckChar } from '../../identity/national-id.ts';
import { DEMO_COUNTY } from '../county.ts';
import { hash32, type Rng } from './random.ts';
import type { Sex } from '../types.ts';

const BIRTHPLACES = DEMO_COUNTY.otherBirthplaces.map((b) => ({ value: b.code, weight: b.weight }));

/** Most residents were born in the county; married-in spouses and migrants elsewhere. */
export function drawBirthplace(
  rng: Rng,
  bornElsewhereShare: number = DEMO_COUNTY.bornElsewhereShare,
): string {
  return rng.chance(bornElsewhereShare) ? rng.weighted(BIRTHPLACES) : DEMO_COUNTY.divisionCode;
}

/**
 * Hands out sequences so that no two residents share an ID: per (birthplace, birth date, sex)
 * there are 500 sequences (000–999 of one parity), visited in a seeded order — a step
 * coprime to 500 from a seeded start — so numbers look issued rather than counted.
 */
export class NationalIdAllocator {
  /** Per key: the seeded start slot and how many sequences were handed out. */
  private readonly used = new Map<number, { start: number; count: number }>();

  constructor(private readonly seed: string) {}

  allocate(birthplace: string, birthDate: string, sex: Sex): string {
    const ymd = birthDate.slice(0, 4) + birthDate.slice(5, 7) + birthDate.slice(8, 10);
    // A numeric key (below 2^53) hashes faster than a string: a million lookups per population.
    const key = Number(birthplace) * 1e9 + Number(ymd) * 10 + (sex === 'male' ? 1 : 0);
    let entry = this.used.get(key);
    if (!entry) {
      entry = { start: hash32(this.seed, 'national-id', String(key)) % 500, count: 0 };
      this.used.set(key, entry);
    }
    if (entry.count >= 500)
      throw new Error(`more than 500 residents born ${birthDate} in ${birthplace} of one sex`);
    const slot = (entry.start + entry.count * 7) % 500;
    entry.count++;
    const sequence = String(slot * 2 + (sex === 'male' ? 1 : 0)).padStart(3, '0');
    const first17 = `${birthplace}${ymd}${sequence}`;
    return first17 + nationalIdCheckChar(first17);
  }
}
