import { describe, expect, it } from 'vitest';
import { createPopulation, registrationFor, loadErrorModel } from '../../../src/demo/population/index.ts';
import type { ErrorKind } from '../../../src/demo/population/error-model.ts';
import {
  homophoneGiven,
  idDigitTypo,
  idTransposition,
  variantName,
} from '../../../src/demo/population/errors.ts';
import { seededRandom } from '../../../src/demo/population/random.ts';
import { dayNumber, swapDayMonth } from '../../../src/demo/population/dates.ts';
import { checkNationalId } from '../../../src/identity/national-id.ts';
import type { Tier } from '../../../src/institutions/types.ts';
import type { Registration, Resident } from '../../../src/demo/types.ts';

const OPTIONS = { residents: 5_000, seed: 'registrations-test', asOf: '2026-03-01' };
const pop = createPopulation(OPTIONS);
const model = loadErrorModel();

const INSTITUTIONS: Record<Tier, string> = {
  'village-clinic': 'dongcun-village-clinic',
  'township-health-centre': 'qiaotou-township-health-centre',
  'community-health-centre': 'chengguan-community-health-centre',
  'county-hospital': 'county-peoples-hospital',
  'shared-centre': 'county-shared-lab',
};
const TIER_LIST = Object.keys(INSTITUTIONS) as Tier[];

const registrations = new Map<Tier, Registration[]>(
  TIER_LIST.map((tier) => [
    tier,
    pop.residents.map((r) => registrationFor(pop, r, INSTITUTIONS[tier], tier)),
  ]),
);

const homophoneGroupOf = new Map<string, string>();
for (const g of model.homophoneGroups) for (const ch of g.chars) homophoneGroupOf.set(ch, g.pinyin);
const hasHomophone = (given: string) =>
  [...given].some((ch) => model.homophoneGroups.some((g) => g.chars.includes(ch) && [...g.chars].length > 1));
const hasVariant = (name: string) => [...name].some((ch) => model.variantCharacters[ch] !== undefined);
const swappable = (r: Resident) => {
  const s = swapDayMonth(r.birthDate);
  return s !== undefined && dayNumber(s) < dayNumber(OPTIONS.asOf);
};
const isHead = (r: Resident) => r.householdId.slice(1) === r.personId.slice(1);

/**
 * The share of registrations each kind should show: its probability, times the chance that an
 * excluding kind did not win first, times the share of residents it can apply to.
 */
function expectedRate(tier: Tier, kind: ErrorKind): number {
  const p = model.tiers[tier].probabilities;
  const mean = (f: (r: Resident) => number) =>
    pop.residents.reduce((s, r) => s + f(r), 0) / pop.residents.length;
  switch (kind) {
    case 'national-id-digit-typo':
      return p[kind] * (1 - p['national-id-missing']);
    case 'national-id-transposition':
      return p[kind] * (1 - p['national-id-missing']) * (1 - p['national-id-digit-typo']);
    case 'name-homophone':
      return p[kind] * mean((r) => (hasHomophone(r.given) ? 1 : 0));
    case 'name-variant-character':
      return p[kind] * mean((r) => (hasVariant(r.name) ? 1 : 0));
    case 'birth-date-day-month-swap':
      return p[kind] * (1 - p['birth-date-missing']) * mean((r) => (swappable(r) ? 1 : 0));
    case 'sex-missing':
      return p[kind] * (1 - p['sex-wrong']);
    case 'phone-guardian':
      return p[kind] * mean((r) => (!isHead(r) && r.phoneOwner !== 'guardian' ? 1 : 0));
    case 'phone-missing':
      return p[kind] * mean((r) => 1 - (!isHead(r) && r.phoneOwner !== 'guardian' ? p['phone-guardian'] : 0));
    case 'insurance-missing':
      return p[kind] * mean((r) => (r.insuranceNumber ? 1 : 0));
    default:
      return p[kind];
  }
}

describe('registrations: error rates per tier', () => {
  for (const tier of TIER_LIST) {
    it(`${tier}: each kind's share of 5,000 registrations is near the model's probability`, () => {
      const regs = registrations.get(tier)!;
      for (const kind of Object.keys(model.errors) as ErrorKind[]) {
        const observed = regs.filter((r) => r.errors.includes(kind)).length / regs.length;
        const expected = expectedRate(tier, kind);
        // Four binomial standard deviations (plus a little for the rare kinds): deterministic
        // for the seed, and wide enough that it tests the rate, not the luck of the draw.
        const tolerance = 4 * Math.sqrt((expected * (1 - expected)) / regs.length) + 0.003;
        expect(
          Math.abs(observed - expected),
          `${kind}: observed ${observed}, expected ${expected}`,
        ).toBeLessThan(tolerance);
      }
    });
  }

  it('village clinics miss more IDs than the county hospital, which reads ID cards', () => {
    const missing = (tier: Tier) => registrations.get(tier)!.filter((r) => r.nationalId === undefined).length;
    expect(missing('village-clinic')).toBeGreaterThan(3 * missing('county-hospital'));
  });
});

describe('registrations: what each error does', () => {
  const all = [...registrations.values()].flat();
  const truth = (reg: Registration) => pop.byId.get(reg.personId)!;
  const withError = (kind: ErrorKind) => all.filter((r) => r.errors.includes(kind));

  it('leaves a registration without errors equal to the truth', () => {
    const clean = all.filter((r) => r.errors.length === 0);
    expect(clean.length).toBeGreaterThan(all.length / 4);
    for (const reg of clean) {
      const r = truth(reg);
      expect(reg).toMatchObject({
        name: r.name,
        sex: r.sex,
        birthDate: r.birthDate,
        nationalId: r.nationalId,
      });
      expect(reg.phone).toBe(r.phone);
      expect(reg.addressText).toBe(r.address.text);
      expect(reg.insuranceNumber).toBe(r.insuranceNumber);
    }
  });

  it('typo and transposition make IDs that fail the check character', () => {
    const typos = [...withError('national-id-digit-typo'), ...withError('national-id-transposition')];
    expect(typos.length).toBeGreaterThan(50);
    for (const reg of typos) {
      expect(reg.nationalId).not.toBe(truth(reg).nationalId);
      expect(reg.nationalId).toHaveLength(18);
      expect(checkNationalId(reg.nationalId!)).toMatchObject({ valid: false, reason: 'check-digit' });
    }
    for (const reg of withError('national-id-missing')) expect(reg.nationalId).toBeUndefined();
  });

  it('a single changed or transposed digit is always caught, whichever position', () => {
    const rng = seededRandom('typo-test');
    for (const r of pop.residents.slice(0, 1_000)) {
      expect(checkNationalId(idDigitTypo(r.nationalId, rng)).reason).toBe('check-digit');
      const swapped = idTransposition(r.nationalId, rng)!;
      expect(swapped).not.toBe(r.nationalId);
      expect([...swapped].sort()).toEqual([...r.nationalId].sort());
      expect(checkNationalId(swapped).reason).toBe('check-digit');
    }
  });

  it('homophone substitution changes one given-name character within its pinyin group', () => {
    const regs = withError('name-homophone');
    expect(regs.length).toBeGreaterThan(30);
    for (const reg of regs) {
      const r = truth(reg);
      const name = reg.errors.includes('name-variant-character') ? undefined : reg.name;
      if (name === undefined) continue;
      expect(name).not.toBe(r.name);
      expect(name.startsWith(r.surname)).toBe(true);
      const given = [...name.slice(r.surname.length)];
      const original = [...r.given];
      expect(given).toHaveLength(original.length);
      const changed = given.flatMap((ch, i) => (ch === original[i] ? [] : [i]));
      expect(changed).toHaveLength(1);
      const i = changed[0]!;
      expect(homophoneGroupOf.get(given[i]!)).toBeDefined();
      expect(homophoneGroupOf.get(given[i]!)).toBe(homophoneGroupOf.get(original[i]!));
    }
  });

  it('homophoneGiven uses the table: 明 becomes 铭 or 鸣, a name without homophones is left alone', () => {
    const rng = seededRandom('homophone-test');
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) seen.add(homophoneGiven('明', model, rng)!);
    expect([...seen].sort()).toEqual([...'鸣铭茗'].sort());
    expect(homophoneGiven('囧', model, rng)).toBeUndefined();
    expect(variantName('王华', model, rng)).toBe('王華');
    expect(variantName('王囧', model, rng)).toBeUndefined();
  });

  it('variant characters replace one character by its traditional form', () => {
    const regs = withError('name-variant-character').filter((r) => !r.errors.includes('name-homophone'));
    expect(regs.length).toBeGreaterThan(5);
    for (const reg of regs) {
      const before = [...truth(reg).name];
      const after = [...reg.name];
      const changed = after.flatMap((ch, i) => (ch === before[i] ? [] : [i]));
      expect(changed).toHaveLength(1);
      expect(model.variantCharacters[before[changed[0]!]!]).toBe(after[changed[0]!]);
    }
  });

  it('a day/month swap gives a different real date, not after the as-of date', () => {
    const regs = withError('birth-date-day-month-swap');
    expect(regs.length).toBeGreaterThan(20);
    for (const reg of regs) {
      const r = truth(reg);
      expect(reg.birthDate).not.toBe(r.birthDate);
      expect(() => dayNumber(reg.birthDate!)).not.toThrow();
      expect(dayNumber(reg.birthDate!)).toBeLessThan(dayNumber(OPTIONS.asOf));
      const [y, m, d] = r.birthDate.split('-');
      expect(reg.birthDate).toBe(`${y}-${d}-${m}`);
    }
    expect(swapDayMonth('1980-03-07')).toBe('1980-07-03');
    expect(swapDayMonth('1980-03-13')).toBeUndefined();
    expect(swapDayMonth('1980-05-05')).toBeUndefined();
  });

  it('sex, birth date, phone, insurance and address errors do what their ids say', () => {
    for (const reg of withError('sex-wrong')) expect(reg.sex).not.toBe(truth(reg).sex);
    for (const reg of withError('sex-missing')) expect(reg.sex).toBeUndefined();
    for (const reg of withError('birth-date-missing')) expect(reg.birthDate).toBeUndefined();
    for (const reg of withError('phone-missing')) expect(reg.phone).toBeUndefined();
    for (const reg of withError('insurance-missing')) {
      expect(reg.insuranceNumber).toBeUndefined();
      expect(truth(reg).insuranceNumber).toBeDefined();
    }
    const relative = withError('phone-guardian');
    expect(relative.length).toBeGreaterThan(50);
    for (const reg of relative) {
      const head = pop.byId.get(`P${truth(reg).householdId.slice(1)}`)!;
      expect(head.personId).not.toBe(reg.personId);
      expect(reg.phone).toBe(head.phone);
      expect(reg.phone).not.toBe(truth(reg).phone);
    }
    for (const reg of withError('address-short')) {
      expect(truth(reg).address.text.endsWith(reg.addressText!)).toBe(true);
      expect(reg.addressText).toMatch(/^[^省县]+\d+号$/);
    }
  });

  it('keeps the person id and gives each institution its own unique MRNs', () => {
    for (const tier of TIER_LIST) {
      const regs = registrations.get(tier)!;
      regs.forEach((reg, i) => expect(reg.personId).toBe(pop.residents[i]!.personId));
      expect(new Set(regs.map((r) => r.mrn)).size).toBe(regs.length);
      const digits = model.tiers[tier].mrn.digits;
      for (const reg of regs) expect(reg.mrn).toMatch(new RegExp(`^[A-Z]+\\d{${digits}}$`));
    }
    const village = registrations.get('village-clinic')![0]!;
    expect(village.mrn.startsWith('DVC')).toBe(true);
    const other = registrationFor(pop, pop.residents[0]!, 'xicun-village-clinic', 'village-clinic');
    expect(other.mrn).not.toBe(village.mrn);
  });
});

describe('registrations: another error model', () => {
  it('follows the model it is given: no errors at probability 0, always at 1', () => {
    const withRates = (value: number) => {
      const tiers = Object.fromEntries(
        Object.entries(model.tiers).map(([tier, t]) => [
          tier,
          { ...t, probabilities: Object.fromEntries(Object.keys(t.probabilities).map((k) => [k, value])) },
        ]),
      );
      return { ...model, tiers } as typeof model;
    };
    const residents = pop.residents.slice(0, 300);
    const none = { options: OPTIONS, errorModel: withRates(0) };
    for (const r of residents)
      expect(registrationFor(none, r, 'dongcun-village-clinic', 'village-clinic').errors).toEqual([]);
    const always = { options: OPTIONS, errorModel: withRates(1) };
    for (const r of residents) {
      const reg = registrationFor(always, r, 'dongcun-village-clinic', 'village-clinic');
      expect(reg.errors).toContain('national-id-missing');
      expect(reg.nationalId).toBeUndefined();
      expect(reg.errors).toContain('birth-date-missing');
      expect(reg.errors).toContain('sex-wrong');
      expect(reg.errors).not.toContain('sex-missing'); // excluded by sex-wrong
    }
  });
});

describe('registrations: determinism', () => {
  it('is independent of call order and of other registrations made before', () => {
    const sample = pop.residents.filter((_, i) => i % 37 === 0);
    const forward = sample.map((r) => registrationFor(pop, r, 'xicun-village-clinic', 'village-clinic'));
    const fresh = { options: { ...OPTIONS } }; // no population kept: what the identity benchmark passes
    for (const r of pop.residents.slice(0, 200))
      registrationFor(fresh, r, 'county-ecg-centre', 'shared-centre');
    const backward = [...sample]
      .reverse()
      .map((r) => registrationFor(fresh, r, 'xicun-village-clinic', 'village-clinic'))
      .reverse();
    expect(backward).toEqual(forward);
  });

  it('differs between institutions of one tier and between seeds', () => {
    const r = pop.residents.slice(0, 300);
    const a = r.map((x) => registrationFor(pop, x, 'xicun-village-clinic', 'village-clinic').errors.join());
    const b = r.map((x) => registrationFor(pop, x, 'kengkou-village-clinic', 'village-clinic').errors.join());
    expect(a).not.toEqual(b);
    const otherSeed = { options: { ...OPTIONS, seed: 'another' } };
    const c = r.map((x) =>
      registrationFor(otherSeed, x, 'xicun-village-clinic', 'village-clinic').errors.join(),
    );
    expect(c).not.toEqual(a);
  });
});
