import { describe, expect, it } from 'vitest';
import {
  createPopulation,
  streamResidents,
  type PopulationOptions,
} from '../../../src/demo/population/index.ts';
import { COMPOUND_SURNAMES } from '../../../src/demo/population/names.ts';
import { ageOn, dayNumber } from '../../../src/demo/population/dates.ts';
import { checkNationalId } from '../../../src/identity/national-id.ts';
import { DEMO_COUNTY, TOWNSHIPS } from '../../../src/demo/county.ts';
import type { Resident } from '../../../src/demo/types.ts';

const OPTIONS: PopulationOptions = { residents: 10_000, seed: 'population-test', asOf: '2026-03-01' };
const pop = createPopulation(OPTIONS);
const ageOf = (r: Resident) => ageOn(r.birthDate, OPTIONS.asOf);
const share = (items: Resident[], f: (r: Resident) => boolean) => items.filter(f).length / items.length;

function households(residents: Resident[]): Map<string, Resident[]> {
  const out = new Map<string, Resident[]>();
  for (const r of residents) out.set(r.householdId, [...(out.get(r.householdId) ?? []), r]);
  return out;
}

describe('population: determinism and size', () => {
  it('gives exactly N residents numbered P0000001…', () => {
    expect(pop.residents).toHaveLength(10_000);
    expect(pop.residents[0]!.personId).toBe('P0000001');
    expect(pop.residents.at(-1)!.personId).toBe('P0010000');
    expect(pop.byId.size).toBe(10_000);
    expect(pop.byId.get('P0004321')).toBe(pop.residents[4320]);
    for (const n of [0, 1, 2, 7, 333]) {
      expect(createPopulation({ ...OPTIONS, residents: n }).residents).toHaveLength(n);
    }
    expect(pop.errorModelVersion).toBe('1');
  });

  it('gives deep-equal output for the same options, and different output for another seed or date', () => {
    const small = { ...OPTIONS, residents: 800 };
    const a = createPopulation(small);
    expect(createPopulation(small)).toEqual(a);
    const otherSeed = createPopulation({ ...small, seed: 'another seed' });
    expect(otherSeed.residents).not.toEqual(a.residents);
    expect(otherSeed.residents.filter((r, i) => r.name === a.residents[i]!.name).length).toBeLessThan(200);
    const otherDate = createPopulation({ ...small, asOf: '2025-03-01' });
    expect(otherDate.residents.map((r) => r.birthDate)).not.toEqual(a.residents.map((r) => r.birthDate));
  });

  it('streams the same residents in the same order', () => {
    const small = { ...OPTIONS, residents: 1_500 };
    expect([...streamResidents(small)]).toEqual(createPopulation(small).residents);
  });

  it('refuses bad options with a clear message', () => {
    expect(() => createPopulation({ ...OPTIONS, asOf: '2026-02-30' })).toThrow(/not a calendar date/);
    expect(() => createPopulation({ ...OPTIONS, asOf: '1 March 2026' })).toThrow(/YYYY-MM-DD/);
    expect(() => createPopulation({ ...OPTIONS, residents: -1 })).toThrow(/residents/);
    expect(() => createPopulation({ ...OPTIONS, residents: 2.5 })).toThrow(/residents/);
  });
});

describe('population: national IDs', () => {
  it('are valid, unique and agree with birth date and sex', () => {
    const today = new Date(`${OPTIONS.asOf}T00:00:00Z`);
    const seen = new Set<string>();
    for (const r of pop.residents) {
      const check = checkNationalId(r.nationalId, { expectedSex: r.sex, today });
      expect(check, r.nationalId).toMatchObject({ valid: true, birthDate: r.birthDate, sex: r.sex });
      seen.add(r.nationalId);
    }
    expect(seen.size).toBe(pop.residents.length);
  });

  it('carry the county code for most and neighbouring codes for the born-elsewhere share', () => {
    const others = new Set<string>(DEMO_COUNTY.otherBirthplaces.map((b) => b.code));
    const prefixes = pop.residents.map((r) => r.nationalId.slice(0, 6));
    for (const p of prefixes) expect(p === DEMO_COUNTY.divisionCode || others.has(p), p).toBe(true);
    const elsewhere = prefixes.filter((p) => p !== DEMO_COUNTY.divisionCode).length / prefixes.length;
    expect(elsewhere).toBeGreaterThan(DEMO_COUNTY.bornElsewhereShare - 0.02);
    expect(elsewhere).toBeLessThan(DEMO_COUNTY.bornElsewhereShare + 0.02);
  });
});

describe('population: age and sex structure of a rural county', () => {
  it('has nobody born after the as-of date and ages up to about 100', () => {
    const asOf = dayNumber(OPTIONS.asOf);
    for (const r of pop.residents) {
      expect(dayNumber(r.birthDate)).toBeLessThan(asOf);
      expect(ageOf(r)).toBeLessThanOrEqual(101);
    }
  });

  it('has many elders and fewer working-age adults', () => {
    const over60 = share(pop.residents, (r) => ageOf(r) >= 60);
    expect(over60).toBeGreaterThan(0.2);
    expect(over60).toBeLessThan(0.4);
    const young = share(pop.residents, (r) => ageOf(r) >= 20 && ageOf(r) < 45);
    // China as a whole has about 35 % aged 20–44; out-migration thins it in the countryside.
    expect(young).toBeLessThan(0.3);
    expect(young).toBeGreaterThan(0.1);
  });

  it('has a sex ratio near 1.05 among children and more women among the oldest', () => {
    const children = pop.residents.filter((r) => ageOf(r) < 18);
    const boys = children.filter((r) => r.sex === 'male').length;
    const ratio = boys / (children.length - boys);
    expect(ratio).toBeGreaterThan(0.95);
    expect(ratio).toBeLessThan(1.2);
    const oldest = pop.residents.filter((r) => ageOf(r) >= 80);
    expect(share(oldest, (r) => r.sex === 'female')).toBeGreaterThan(0.5);
  });

  it('has a few deceased residents, who died after birth and before the as-of date', () => {
    const deceased = pop.residents.filter((r) => r.deceasedDate);
    expect(deceased.length).toBeGreaterThan(0);
    expect(deceased.length / pop.residents.length).toBeLessThan(0.01);
    for (const r of deceased) {
      expect(dayNumber(r.deceasedDate!)).toBeGreaterThan(dayNumber(r.birthDate));
      expect(dayNumber(r.deceasedDate!)).toBeLessThan(dayNumber(OPTIONS.asOf));
    }
  });

  it('has chronic conditions rising with age', () => {
    const over45 = pop.residents.filter((r) => ageOf(r) >= 45);
    const hypertension = share(over45, (r) => r.chronic.includes('hypertension'));
    expect(hypertension).toBeGreaterThan(0.22);
    expect(hypertension).toBeLessThan(0.36);
    const over65 = pop.residents.filter((r) => ageOf(r) >= 65);
    const middle = pop.residents.filter((r) => ageOf(r) >= 45 && ageOf(r) < 65);
    expect(share(over65, (r) => r.chronic.includes('hypertension'))).toBeGreaterThan(
      share(middle, (r) => r.chronic.includes('hypertension')),
    );
    const diabetes = share(over45, (r) => r.chronic.includes('diabetes'));
    expect(diabetes).toBeGreaterThan(0.06);
    expect(diabetes).toBeLessThan(0.15);
    const elders = pop.residents.filter((r) => ageOf(r) >= 60);
    expect(share(elders, (r) => r.chronic.includes('copd'))).toBeGreaterThan(0.03);
    expect(share(elders, (r) => r.chronic.includes('coronary-heart-disease'))).toBeGreaterThan(0.03);
    const children = pop.residents.filter((r) => ageOf(r) < 18);
    expect(share(children, (r) => r.chronic.length > 0)).toBeLessThan(0.02);
  });
});

describe('population: names', () => {
  it('draws common surnames most often, with compound surnames rare but present', () => {
    const counts = new Map<string, number>();
    for (const r of pop.residents) counts.set(r.surname, (counts.get(r.surname) ?? 0) + 1);
    const top5 = [...counts]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5)
      .map(([s]) => s);
    for (const s of ['王', '李', '张']) expect(top5).toContain(s);
    expect(counts.size).toBeGreaterThan(80);
    const compound = pop.residents.filter((r) => COMPOUND_SURNAMES.includes(r.surname));
    expect(compound.length).toBeGreaterThan(0);
    expect(compound.length / pop.residents.length).toBeLessThan(0.005);
  });

  it('writes full names as surname + a given name of one or two characters', () => {
    for (const r of pop.residents) {
      expect(r.name).toBe(r.surname + r.given);
      expect([1, 2]).toContain([...r.given].length);
    }
    const single = share(pop.residents, (r) => [...r.given].length === 1);
    expect(single).toBeGreaterThan(0.05);
    expect(single).toBeLessThan(0.4);
  });

  it('mostly gives children the surname of a man of the household', () => {
    const byHousehold = households(pop.residents);
    const children = pop.residents.filter((r) => ageOf(r) < 18);
    const fromMan = share(children, (child) => {
      const men = byHousehold.get(child.householdId)!.filter((m) => m.sex === 'male' && ageOf(m) >= 20);
      return men.length === 0 || men.some((m) => m.surname === child.surname);
    });
    expect(fromMan).toBeGreaterThan(0.85);
  });
});

describe('population: households, addresses and phones', () => {
  const byHousehold = households(pop.residents);

  it('groups 1–6 people, mostly 2 or more, under one address per household', () => {
    const texts = new Set<string>();
    const townshipNames = new Map(TOWNSHIPS.map((t) => [t.id, t]));
    for (const members of byHousehold.values()) {
      expect(members.length).toBeGreaterThanOrEqual(1);
      expect(members.length).toBeLessThanOrEqual(6);
      const first = members[0]!;
      expect(first.householdId).toBe(`H${first.personId.slice(1)}`); // numbered by the head
      for (const m of members) expect(m.address).toEqual(first.address);
      const township = townshipNames.get(first.address.townshipId)!;
      const village = township.villages.find((v) => v.id === first.address.villageId)!;
      expect(first.address.divisionCode).toBe(DEMO_COUNTY.divisionCode);
      expect(first.address.text).toMatch(new RegExp(`^浙江省青山县${township.name}${village.name}\\d+号$`));
      expect(texts.has(first.address.text)).toBe(false);
      texts.add(first.address.text);
    }
    const sizes = [...byHousehold.values()].map((m) => m.length);
    expect(sizes.filter((s) => s === 1).length / sizes.length).toBeLessThan(0.2);
    expect(sizes.filter((s) => s === 1).length).toBeGreaterThan(0);
  });

  it('weights townships as county.ts says (the county seat is the largest)', () => {
    const counts = new Map<string, number>();
    for (const members of byHousehold.values()) {
      const t = members[0]!.address.townshipId;
      counts.set(t, (counts.get(t) ?? 0) + 1);
    }
    const largest = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
    expect(largest).toBe([...TOWNSHIPS].sort((a, b) => b.weight - a.weight)[0]!.id);
    expect(counts.size).toBe(TOWNSHIPS.length);
  });

  it('registers children under a household adult’s own mobile', () => {
    const children = pop.residents.filter((r) => ageOf(r) < 16);
    expect(children.length).toBeGreaterThan(500);
    for (const child of children) {
      expect(child.phoneOwner).toBe('guardian');
      const guardian = pop.byId.get(child.guardianPersonId!)!;
      expect(guardian.householdId).toBe(child.householdId);
      expect(ageOf(guardian)).toBeGreaterThanOrEqual(18);
      expect(guardian.phoneOwner).toBe('self');
      expect(child.phone).toBe(guardian.phone);
    }
  });

  it('registers many of the oldest under a guardian, and some households on one fixed line', () => {
    // Elders, not heads of their household (a head keeps their own mobile), who live with a
    // younger adult carrying their own mobile: the only possible guardians.
    const oldest = pop.residents.filter(
      (r) =>
        ageOf(r) >= 75 &&
        r.householdId.slice(1) !== r.personId.slice(1) &&
        byHousehold
          .get(r.householdId)!
          .some((m) => m.phoneOwner === 'self' && ageOf(m) >= 18 && ageOf(m) < 75),
    );
    expect(oldest.length).toBeGreaterThan(100);
    const underGuardian = oldest.filter((r) => r.phoneOwner === 'guardian');
    expect(underGuardian.length / oldest.length).toBeGreaterThan(0.4);
    for (const elder of underGuardian) {
      const guardian = pop.byId.get(elder.guardianPersonId!)!;
      expect(guardian.householdId).toBe(elder.householdId);
      expect(ageOf(guardian)).toBeGreaterThanOrEqual(18);
      expect(elder.phone).toBe(guardian.phone);
    }
    const landlines = pop.residents.filter((r) => r.phoneOwner === 'household');
    expect(landlines.length).toBeGreaterThan(50);
    for (const r of landlines) {
      expect(r.phone).toMatch(/^0578-[2-9]\d{6}$/);
      const sharing = byHousehold.get(r.householdId)!.filter((m) => m.phoneOwner === 'household');
      for (const m of sharing) expect(m.phone).toBe(r.phone);
    }
    expect(new Set(landlines.map((r) => r.householdId)).size).toBe(
      new Set(landlines.map((r) => r.phone)).size,
    );
  });

  it('gives everyone else a unique mobile, and the head of a shared household always their own', () => {
    const own = pop.residents.filter((r) => r.phoneOwner === 'self');
    for (const r of own) {
      expect(r.phone).toMatch(/^1[3-9]\d{9}$/);
      expect(r.guardianPersonId).toBeUndefined();
    }
    expect(new Set(own.map((r) => r.phone)).size).toBe(own.length);
    for (const members of byHousehold.values()) {
      if (members.length > 1) expect(members[0]!.phoneOwner).toBe('self');
    }
  });

  it('has a few twins: two children of one household born the same day, with their own IDs', () => {
    const seen = new Map<string, Resident>();
    const twins: [Resident, Resident][] = [];
    // Children only: a husband and wife born the same day are a coincidence, not twins.
    for (const r of pop.residents.filter((x) => ageOf(x) < 18)) {
      const key = `${r.householdId} ${r.birthDate}`;
      const other = seen.get(key);
      if (other) twins.push([other, r]);
      else seen.set(key, r);
    }
    expect(twins.length).toBeGreaterThan(0);
    expect(twins.length).toBeLessThan(50);
    for (const [a, b] of twins) {
      expect(a.nationalId).not.toBe(b.nationalId);
      expect(a.nationalId.slice(0, 14)).toBe(b.nationalId.slice(0, 14)); // same birthplace and date
    }
  });

  it('gives most residents a unique insurance number', () => {
    const insured = pop.residents.filter((r) => r.insuranceNumber);
    expect(insured.length / pop.residents.length).toBeGreaterThan(0.9);
    expect(insured.length).toBeLessThan(pop.residents.length);
    for (const r of insured) expect(r.insuranceNumber).toMatch(/^331124\d{10}$/);
    expect(new Set(insured.map((r) => r.insuranceNumber)).size).toBe(insured.length);
  });
});
