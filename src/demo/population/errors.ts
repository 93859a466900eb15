/**
 * Applies a tier's data-quality errors to a resident, giving what one institution has on file.
 * Every draw comes from a stream keyed by (seed, person, institution), and all kinds are
 * rolled in a fixed order whether or not they can apply, so a registration never depends on
 * which other registrations were made before it.
 */
import type { Tier } from '../../institutions/types.ts';
import type { Registration, Resident } from '../types.ts';
import { ERROR_KINDS, type ErrorKind, type ErrorModel } from './error-model.ts';
import { seededRandom, permuteIndex, type Rng } from './random.ts';
import { indexOfId, mobileFor } from './contacts.ts';
import { dayNumber, swapDayMonth } from './dates.ts';
import { TOWNSHIPS } from '../county.ts';

/** Institution id → MRN prefix, its initials (`county-peoples-hospital` → `CPH`). */
const mrnPrefixes = new Map<string, string>();

/** The institution's own patient number: its initials and a number unique per person. */
export function mrnFor(seed: string, personId: string, institutionId: string, digits: number): string {
  let prefix = mrnPrefixes.get(institutionId);
  if (prefix === undefined) {
    prefix = institutionId
      .split('-')
      .map((part) => part[0] ?? '')
      .join('')
      .toUpperCase();
    mrnPrefixes.set(institutionId, prefix);
  }
  const n = permuteIndex(indexOfId(personId), 10 ** digits, seed, 'mrn', institutionId);
  return prefix + String(n).padStart(digits, '0');
}

/** A different digit at one of the first 17 positions: MOD 11-2 always catches it. */
export function idDigitTypo(id: string, rng: Rng): string {
  const i = rng.int(0, 16);
  const old = id.charCodeAt(i) - 48;
  const digit = (old + rng.int(1, 9)) % 10;
  return id.slice(0, i) + digit + id.slice(i + 1);
}

/**
 * Two adjacent different digits among the first 17 exchanged (undefined when all are equal).
 * Adjacent weights of MOD 11-2 always differ, so the check character catches it.
 */
export function idTransposition(id: string, rng: Rng): string | undefined {
  const candidates: number[] = [];
  for (let i = 0; i < 16; i++) if (id[i] !== id[i + 1]) candidates.push(i);
  if (candidates.length === 0) return undefined;
  const i = rng.pick(candidates);
  return id.slice(0, i) + id[i + 1] + id[i] + id.slice(i + 2);
}

/** The model's homophone groups indexed by character. */
const homophoneIndex = new WeakMap<ErrorModel, Map<string, string>>();

function homophonesOf(model: ErrorModel): Map<string, string> {
  let index = homophoneIndex.get(model);
  if (!index) {
    index = new Map();
    for (const g of model.homophoneGroups) for (const ch of g.chars) index.set(ch, g.chars);
    homophoneIndex.set(model, index);
  }
  return index;
}

/** The given name with one character replaced by a same-pinyin one (undefined if none has a homophone). */
export function homophoneGiven(given: string, model: ErrorModel, rng: Rng): string | undefined {
  const groups = homophonesOf(model);
  const chars = [...given];
  const positions = chars.flatMap((ch, i) => ([...(groups.get(ch) ?? '')].length > 1 ? [i] : []));
  if (positions.length === 0) return undefined;
  const at = rng.pick(positions);
  const others = [...groups.get(chars[at]!)!].filter((ch) => ch !== chars[at]);
  chars[at] = rng.pick(others);
  return chars.join('');
}

/** The name with one character in its traditional or variant form (undefined if none has one). */
export function variantName(name: string, model: ErrorModel, rng: Rng): string | undefined {
  const chars = [...name];
  const positions = chars.flatMap((ch, i) => (model.variantCharacters[ch] ? [i] : []));
  if (positions.length === 0) return undefined;
  const at = rng.pick(positions);
  chars[at] = model.variantCharacters[chars[at]!]!;
  return chars.join('');
}

export function applyErrors(
  model: ErrorModel,
  seed: string,
  asOf: string,
  resident: Resident,
  institutionId: string,
  tier: Tier,
): Registration {
  const tierModel = model.tiers[tier];
  if (!tierModel) throw new Error(`error model ${model.version} has no tier ${tier}`);
  const rng = seededRandom(seed, 'registration', resident.personId, institutionId);
  const rolled = new Set<ErrorKind>();
  for (const kind of ERROR_KINDS) if (rng.chance(tierModel.probabilities[kind])) rolled.add(kind);

  const reg: Registration = {
    personId: resident.personId,
    institutionId,
    mrn: mrnFor(seed, resident.personId, institutionId, tierModel.mrn.digits),
    name: resident.name,
    sex: resident.sex,
    birthDate: resident.birthDate,
    nationalId: resident.nationalId,
    phone: resident.phone,
    addressText: resident.address.text,
    errors: [],
  };
  if (resident.insuranceNumber) reg.insuranceNumber = resident.insuranceNumber;
  const applied = (kind: ErrorKind) => reg.errors.push(kind);

  // National ID: missing excludes the typos; a digit typo excludes a transposition.
  if (rolled.has('national-id-missing')) {
    delete reg.nationalId;
    applied('national-id-missing');
  } else if (rolled.has('national-id-digit-typo')) {
    reg.nationalId = idDigitTypo(resident.nationalId, rng);
    applied('national-id-digit-typo');
  } else if (rolled.has('national-id-transposition')) {
    const swapped = idTransposition(resident.nationalId, rng);
    if (swapped) {
      reg.nationalId = swapped;
      applied('national-id-transposition');
    }
  }

  if (rolled.has('name-homophone')) {
    const given = homophoneGiven(resident.given, model, rng);
    if (given !== undefined) {
      reg.name = resident.surname + given;
      applied('name-homophone');
    }
  }
  if (rolled.has('name-variant-character')) {
    const name = variantName(reg.name, model, rng);
    if (name !== undefined) {
      reg.name = name;
      applied('name-variant-character');
    }
  }

  if (rolled.has('birth-date-missing')) {
    delete reg.birthDate;
    applied('birth-date-missing');
  } else if (rolled.has('birth-date-day-month-swap')) {
    const swapped = swapDayMonth(resident.birthDate);
    if (swapped !== undefined && dayNumber(swapped) < dayNumber(asOf)) {
      reg.birthDate = swapped;
      applied('birth-date-day-month-swap');
    }
  }

  if (rolled.has('sex-wrong')) {
    reg.sex = resident.sex === 'male' ? 'female' : 'male';
    applied('sex-wrong');
  } else if (rolled.has('sex-missing')) {
    delete reg.sex;
    applied('sex-missing');
  }

  const headIndex = indexOfId(resident.householdId);
  const isHead = headIndex === indexOfId(resident.personId);
  if (rolled.has('phone-guardian') && !isHead && resident.phoneOwner !== 'guardian') {
    reg.phone = mobileFor(seed, headIndex);
    applied('phone-guardian');
  } else if (rolled.has('phone-missing')) {
    delete reg.phone;
    applied('phone-missing');
  }

  if (rolled.has('address-short')) {
    reg.addressText = shortAddress(resident);
    applied('address-short');
  }
  if (rolled.has('insurance-missing') && reg.insuranceNumber) {
    delete reg.insuranceNumber;
    applied('insurance-missing');
  }
  return reg;
}

/** `东村12号` from `浙江省青山县桥头镇东村12号`: what a village clinic writes. */
function shortAddress(resident: Resident): string {
  const village = TOWNSHIPS.find((t) => t.id === resident.address.townshipId)?.villages.find(
    (v) => v.id === resident.address.villageId,
  );
  const house = /(\d+号)$/.exec(resident.address.text)?.[1] ?? '';
  return village ? village.name + house : resident.address.text;
}
