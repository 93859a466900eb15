/**
 * Households of a rural county: elders alone or in couples, three generations under one roof
 * (often with the parents away at work in the cities — "left-behind" children raised by their
 * grandparents), young families, and middle-aged couples. Out-migration of working-age adults
 * is what thins the 20–45 band and lifts the share over 60 above a fifth.
 */
import type { ChronicCondition, Resident, Sex } from '../types.ts';
import { DEMO_COUNTY, TOWNSHIPS } from '../county.ts';
import type { Rng } from './random.ts';
import { drawGivenName, drawSurname } from './names.ts';
import { drawBirthplace, type NationalIdAllocator } from './national-id.ts';
import { householdId, insuranceFor, landlineFor, mobileFor, personId } from './contacts.ts';
import { dateOfDay, dayNumber } from './dates.ts';

type Template =
  'single-elder' | 'elder-couple' | 'three-generation' | 'nuclear' | 'middle-aged' | 'son-and-mother';

const TEMPLATES: readonly { value: Template; weight: number }[] = [
  { value: 'single-elder', weight: 11 },
  { value: 'elder-couple', weight: 16 },
  { value: 'three-generation', weight: 30 },
  { value: 'nuclear', weight: 24 },
  { value: 'middle-aged', weight: 21 },
  // Unmarried sons living with a widowed mother: rural China has more men than brides.
  { value: 'son-and-mother', weight: 5 },
];

const MAX_HOUSEHOLD = 6;
/** Sex ratio at birth near 1.05–1.06 boys per girl. */
const MALE_BIRTH_SHARE = 1.06 / 2.06;

interface Planned {
  age: number;
  sex: Sex;
  role: 'head' | 'spouse' | 'parent' | 'child' | 'grandparent';
  surname: string;
  /** Set for the head's mother (children of the head take the father's line). */
  isMother?: boolean;
  isFather?: boolean;
  /** Born the same day as the member before (twins: a hard case for record linkage). */
  twinOfPrevious?: boolean;
}

export interface HouseholdContext {
  seed: string;
  asOfDay: number;
  ids: NationalIdAllocator;
  /** Next free house number per village, so that households never share an address. */
  houseNumbers: Map<string, number>;
}

function childSex(rng: Rng): Sex {
  return rng.chance(MALE_BIRTH_SHARE) ? 'male' : 'female';
}

function childSurname(rng: Rng, father: string, mother: string): string {
  return rng.chance(0.92) ? father : mother;
}

function children(
  rng: Rng,
  motherAge: number,
  maxAge: number,
  line: string,
  motherSurname: string,
): Planned[] {
  const count = rng.weighted([
    { value: 1, weight: 55 },
    { value: 2, weight: 40 },
    { value: 3, weight: 5 },
  ]);
  const oldest = Math.min(maxAge, motherAge - 20);
  const out: Planned[] = [];
  if (oldest < 0) return out;
  for (let i = 0; i < count; i++) {
    out.push({
      age: rng.int(0, oldest),
      sex: childSex(rng),
      role: 'child',
      surname: childSurname(rng, line, motherSurname),
    });
  }
  out.sort((a, b) => b.age - a.age);
  // About one birth in a hundred is of twins (China's twin rate is near 1 %; we draw per family).
  if (out.length >= 2 && rng.chance(0.015)) {
    out[1]!.age = out[0]!.age;
    out[1]!.twinOfPrevious = true;
  }
  return out;
}

/** Members of one household, the head first. */
function planHousehold(rng: Rng): Planned[] {
  const line = drawSurname(rng);
  const template = rng.weighted(TEMPLATES);
  switch (template) {
    case 'single-elder':
      return [
        {
          age: 65 + Math.floor(32 * rng.next() ** 1.2),
          // Widows outnumber widowers: women live longer and marry older men.
          sex: rng.chance(0.72) ? 'female' : 'male',
          role: 'head',
          surname: line,
        },
      ];
    case 'elder-couple': {
      // Couples thin out after 80: most of the very old are widowed (see single elders).
      const husband = rng.int(60, 80);
      return [
        { age: husband, sex: 'male', role: 'head', surname: line },
        {
          age: Math.max(55, husband - rng.int(0, 6)),
          sex: 'female',
          role: 'spouse',
          surname: drawSurname(rng),
        },
      ];
    }
    case 'three-generation': {
      const grandfather = rng.int(50, 80);
      const grandmother = Math.max(48, grandfather - rng.int(0, 5));
      const father = Math.max(22, grandfather - rng.int(23, 30));
      const mother = Math.max(20, father - rng.int(0, 3));
      const motherSurname = drawSurname(rng);
      const kids = children(rng, mother, 17, line, motherSurname);
      const away = rng.weighted([
        { value: 'both' as const, weight: 40 },
        { value: 'father' as const, weight: 12 },
        { value: 'none' as const, weight: 48 },
      ]);
      const widowedShare = grandfather >= 72 ? 0.55 : 0.2;
      const widowed = rng.chance(widowedShare)
        ? rng.chance(0.8)
          ? 'grandfather'
          : 'grandmother'
        : undefined;
      const parents: Planned[] = [];
      if (away === 'none')
        parents.push({ age: father, sex: 'male', role: 'head', surname: line, isFather: true });
      if (away !== 'both') {
        parents.push({
          age: mother,
          sex: 'female',
          role: parents.length ? 'spouse' : 'head',
          surname: motherSurname,
          isMother: true,
        });
      }
      const elders: Planned[] = [];
      if (widowed !== 'grandfather')
        elders.push({ age: grandfather, sex: 'male', role: 'grandparent', surname: line });
      if (widowed !== 'grandmother')
        elders.push({ age: grandmother, sex: 'female', role: 'grandparent', surname: drawSurname(rng) });
      if (parents.length === 0) elders[0]!.role = 'head';
      const members = [...parents, ...elders, ...kids];
      return members.sort((a, b) => (a.role === 'head' ? -1 : b.role === 'head' ? 1 : 0));
    }
    case 'nuclear': {
      const father = rng.int(24, 50);
      const mother = Math.max(21, father - rng.int(0, 4));
      const motherSurname = drawSurname(rng);
      return [
        { age: father, sex: 'male', role: 'head', surname: line, isFather: true },
        { age: mother, sex: 'female', role: 'spouse', surname: motherSurname, isMother: true },
        ...children(rng, mother, 22, line, motherSurname),
      ];
    }
    case 'son-and-mother': {
      const son = rng.int(30, 60);
      return [
        { age: son, sex: 'male', role: 'head', surname: line },
        {
          age: Math.min(98, son + rng.int(22, 32)),
          sex: 'female',
          role: 'parent',
          surname: drawSurname(rng),
        },
      ];
    }
    case 'middle-aged': {
      const husband = rng.int(45, 64);
      const wife = Math.max(42, husband - rng.int(0, 4));
      const members: Planned[] = [
        { age: husband, sex: 'male', role: 'head', surname: line },
        { age: wife, sex: 'female', role: 'spouse', surname: drawSurname(rng) },
      ];
      if (rng.chance(0.5)) {
        members.push({
          age: rng.int(18, Math.max(18, Math.min(35, wife - 20))),
          sex: childSex(rng),
          role: 'child',
          surname: line,
        });
      }
      return members;
    }
  }
}

/** Chronic conditions by age (rural prevalence of diagnosed disease, rounded). */
function chronicConditions(rng: Rng, age: number): ChronicCondition[] {
  const out: ChronicCondition[] = [];
  const hypertension = age >= 65 ? 0.4 : age >= 45 ? 0.22 : age >= 35 ? 0.08 : 0.01;
  const diabetes = age >= 65 ? 0.14 : age >= 45 ? 0.09 : age >= 35 ? 0.03 : 0.002;
  const copd = age >= 60 ? 0.09 : age >= 40 ? 0.02 : 0;
  const chd = age >= 60 ? 0.07 : age >= 45 ? 0.02 : 0;
  if (rng.chance(hypertension)) out.push('hypertension');
  if (rng.chance(diabetes)) out.push('diabetes');
  if (rng.chance(copd)) out.push('copd');
  if (rng.chance(chd)) out.push('coronary-heart-disease');
  return out;
}

const TOWNSHIP_WEIGHTS = TOWNSHIPS.map((t) => ({ value: t, weight: t.weight }));

/**
 * One household's residents, numbered from `firstIndex`, at most `maxSize` of them (the last
 * household of a population of exactly N is cut short; the head always stays).
 */
export function buildHousehold(
  ctx: HouseholdContext,
  rng: Rng,
  firstIndex: number,
  maxSize: number,
): Resident[] {
  const plans = planHousehold(rng).slice(0, Math.min(maxSize, MAX_HOUSEHOLD));

  const township = rng.weighted(TOWNSHIP_WEIGHTS);
  const village = rng.pick(township.villages);
  const villageKey = `${township.id}/${village.id}`;
  const houseNumber = (ctx.houseNumbers.get(villageKey) ?? 0) + rng.int(1, 3);
  ctx.houseNumbers.set(villageKey, houseNumber);
  const address = {
    divisionCode: DEMO_COUNTY.divisionCode,
    townshipId: township.id,
    villageId: village.id,
    text: `浙江省${DEMO_COUNTY.name.zh}${township.name}${village.name}${houseNumber}号`,
  };

  const hasElder = plans.some((p) => p.age >= 60);
  const landline = rng.chance(hasElder ? 0.3 : 0.05) ? landlineFor(ctx.seed, firstIndex) : undefined;
  const hh = householdId(firstIndex);

  let previousBirthDay = 0;
  let previousBirthplace = '';
  const residents: Resident[] = plans.map((plan, i) => {
    const index = firstIndex + i;
    const ownBirthDay = ctx.asOfDay - Math.floor(plan.age * 365.2425) - rng.int(1, 364);
    const birthDay = plan.twinOfPrevious ? previousBirthDay : ownBirthDay;
    const ownBirthplace = drawBirthplace(rng);
    const birthplace = plan.twinOfPrevious ? previousBirthplace : ownBirthplace;
    previousBirthDay = birthDay;
    previousBirthplace = birthplace;
    const birthDate = dateOfDay(birthDay);
    const given = drawGivenName(rng, Number(birthDate.slice(0, 4)), plan.sex);
    const insured = rng.chance(plan.age === 0 ? 0.6 : 0.95);
    const enrolment = Math.max(Number(birthDate.slice(0, 4)), 2004 + rng.int(0, 16));
    const resident: Resident = {
      personId: personId(index),
      householdId: hh,
      name: plan.surname + given,
      surname: plan.surname,
      given,
      sex: plan.sex,
      birthDate,
      nationalId: ctx.ids.allocate(birthplace, birthDate, plan.sex),
      phone: mobileFor(ctx.seed, index),
      phoneOwner: 'self',
      address,
      chronic: chronicConditions(rng, plan.age),
    };
    if (insured) resident.insuranceNumber = insuranceFor(ctx.seed, index, enrolment);
    return resident;
  });

  // Phones. The head of a household of two or more always carries their own mobile (a
  // registration's `phone-guardian` error relies on it). Elders in a household with a fixed
  // line are often reached on it; children and many of the oldest are registered under a
  // guardian's mobile.
  const kinds = plans.map((plan, i): Resident['phoneOwner'] => {
    if (i === 0) return residents.length === 1 && landline ? 'household' : 'self';
    if (plan.age < 16) return 'guardian';
    if (plan.age >= 75 && rng.chance(0.6)) return 'guardian';
    if (plan.age >= 60 && landline && rng.chance(0.7)) return 'household';
    return 'self';
  });
  const guardians = new Set<string>();
  residents.forEach((r, i) => {
    if (kinds[i] === 'household') setHousehold(r, landline!);
    if (kinds[i] !== 'guardian') return;
    const guardian = chooseGuardian(plans, kinds, i);
    if (guardian === undefined) {
      if (landline) setHousehold(r, landline);
      return;
    }
    setGuardian(r, residents[guardian]!);
    guardians.add(residents[guardian]!.personId);
  });

  // A few elders died before the as-of date (rare; never a head or a guardian).
  residents.forEach((r, i) => {
    const age = plans[i]!.age;
    if (i === 0 || age < 60 || guardians.has(r.personId)) return;
    const p = age >= 80 ? 0.03 : age >= 70 ? 0.01 : 0.003;
    if (!rng.chance(p)) return;
    const born = dayNumber(r.birthDate);
    const earliest = Math.max(born + 1, ctx.asOfDay - 3 * 365);
    r.deceasedDate = dateOfDay(rng.int(earliest, ctx.asOfDay - 1));
  });

  return residents;
}

function setGuardian(r: Resident, guardian: Resident): void {
  r.phone = guardian.phone;
  r.phoneOwner = 'guardian';
  r.guardianPersonId = guardian.personId;
}

function setHousehold(r: Resident, landline: string): void {
  r.phone = landline;
  r.phoneOwner = 'household';
}

/**
 * A household adult (18+) with their own mobile: for a child the mother, else the father, else
 * the head; for an elder the youngest such adult under 75 other than themselves, if any.
 */
function chooseGuardian(plans: Planned[], kinds: Resident['phoneOwner'][], i: number): number | undefined {
  const isChild = plans[i]!.age < 16;
  const eligible = (j: number) =>
    j !== i && kinds[j] === 'self' && plans[j]!.age >= 18 && (isChild || plans[j]!.age < 75);
  if (isChild) {
    const mother = plans.findIndex((p, j) => p.isMother && eligible(j));
    if (mother >= 0) return mother;
    const father = plans.findIndex((p, j) => p.isFather && eligible(j));
    return father >= 0 ? father : 0;
  }
  let best: number | undefined;
  plans.forEach((p, j) => {
    if (eligible(j) && (best === undefined || p.age < plans[best]!.age)) best = j;
  });
  return best;
}
