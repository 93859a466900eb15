import { describe, expect, it } from 'vitest';
import { TOWNSHIPS } from '../../../src/demo/county.ts';
import { loadDirectory, planCare, WINDOW_DAYS } from '../../../src/demo/care/index.ts';
import { makeClock } from '../../../src/demo/care/clock.ts';
import { createPopulation, seededRandom } from '../../../src/demo/population/index.ts';
import type { CareEvent } from '../../../src/demo/types.ts';

const directory = loadDirectory();
const opts = { residents: 200, seed: 'care-test', asOf: '2026-06-30' };
const pop = createPopulation(opts);
const plan = (residents = pop.residents) =>
  planCare({ residents, directory, seed: opts.seed, asOf: opts.asOf, random: seededRandom });
const events = plan();
const tierOf = (id: string) => directory.institution(id)!.tier;

describe('care timeline', () => {
  it('is deterministic, in time order, with unique ids', () => {
    expect(plan()).toEqual(events);
    const times = events.map((e) => e.time);
    expect([...times].sort()).toEqual(times);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
  });

  it('keeps one resident’s care when the others change (a stream per person)', () => {
    const someone = pop.residents.find((r) => events.filter((e) => e.personId === r.personId).length > 3)!;
    const alone = plan([someone]);
    expect(alone).toEqual(events.filter((e) => e.personId === someone.personId));
  });

  it('stays inside the two years before asOf and the resident’s life', () => {
    const clock = makeClock(opts.asOf);
    for (const e of events) {
      const day = clock.daysSince(e.time.slice(0, 10));
      expect(day, e.id).toBeGreaterThanOrEqual(1);
      expect(day, e.id).toBeLessThanOrEqual(WINDOW_DAYS);
      const r = pop.byId.get(e.personId)!;
      if (r.deceasedDate) expect(e.time.slice(0, 10) <= r.deceasedDate).toBe(true);
      expect(e.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00\+08:00$/);
    }
  });

  it('meets the volume targets at 200 residents, every tier present', () => {
    const persons = new Set(events.map((e) => e.personId));
    expect(persons.size).toBeGreaterThanOrEqual(150);
    const visits = events.filter((e) => e.kind === 'visit');
    expect(visits.length).toBeGreaterThanOrEqual(100);
    const observations = events.reduce(
      (n, e) =>
        n +
        (e.kind === 'visit'
          ? e.vitals.filter((v) => v.kind !== 'diastolic').length
          : e.kind === 'lab-report'
            ? e.results.length
            : 0),
      0,
    );
    expect(observations).toBeGreaterThanOrEqual(300);
    const tiers = new Set(events.map((e) => tierOf(e.institutionId)));
    expect([...tiers].sort()).toEqual(
      [
        'community-health-centre',
        'county-hospital',
        'shared-centre',
        'township-health-centre',
        'village-clinic',
      ].sort(),
    );
    for (const kind of [
      'visit',
      'lab-report',
      'ecg-report',
      'imaging-report',
      'referral',
      'immunization',
      'contract',
    ])
      expect(
        events.some((e) => e.kind === kind),
        kind,
      ).toBe(true);
  });

  it('names only registry institutions, and practitioners of the event’s institution', () => {
    const practitioners = new Map(directory.practitioners.map((p) => [p.id, p]));
    for (const e of events) {
      expect(directory.institution(e.institutionId), e.id).toBeDefined();
      if (e.practitionerId)
        expect(practitioners.get(e.practitionerId)?.institution, e.id).toBe(e.institutionId);
      if ('orderedBy' in e) expect(directory.institution(e.orderedBy), e.id).toBeDefined();
      if (e.kind === 'referral') expect(directory.institution(e.to), e.id).toBeDefined();
    }
  });

  it('refers up village → township → county and down county → township/community', () => {
    const referrals = events.filter(
      (e): e is Extract<CareEvent, { kind: 'referral' }> => e.kind === 'referral',
    );
    expect(referrals.some((r) => r.direction === 'up')).toBe(true);
    expect(referrals.some((r) => r.direction === 'down')).toBe(true);
    for (const r of referrals) {
      const from = tierOf(r.institutionId);
      const to = tierOf(r.to);
      if (r.direction === 'up') {
        expect([
          'village-clinic>township-health-centre',
          'township-health-centre>county-hospital',
          'community-health-centre>county-hospital',
        ]).toContain(`${from}>${to}`);
        // A village clinic refers to its own township's centre.
        if (from === 'village-clinic') expect(directory.institution(r.institutionId)!.partOf).toBe(r.to);
      } else {
        expect(from).toBe('county-hospital');
        expect(['township-health-centre', 'community-health-centre']).toContain(to);
      }
      expect(r.reason.system).toBe('icd-10');
    }
  });

  it('follows chronic patients at their own village clinic or centre, with BP and glucose', () => {
    for (const r of pop.residents.filter((x) => x.chronic.includes('diabetes'))) {
      const township = TOWNSHIPS.find((t) => t.id === r.address.townshipId)!;
      const clinic = township.villages.find((v) => v.id === r.address.villageId)?.clinic;
      const home = new Set([clinic, township.healthCentre].filter(Boolean));
      const followUps = events.filter(
        (e) =>
          e.personId === r.personId &&
          e.kind === 'visit' &&
          e.vitals.some((v) => v.kind === 'fasting-glucose'),
      );
      for (const f of followUps) expect(home.has(f.institutionId)).toBe(true);
    }
    const bp = events.flatMap((e) =>
      e.kind === 'visit' ? e.vitals.filter((v) => v.kind === 'systolic') : [],
    );
    expect(bp.length).toBeGreaterThan(50);
    for (const v of bp) expect(v.value).toBeGreaterThan(80);
  });

  it('flags lab results by their reference range', () => {
    const results = events.flatMap((e) => (e.kind === 'lab-report' ? e.results : []));
    expect(results.length).toBeGreaterThan(100);
    for (const r of results) {
      const v = r.value as number;
      expect(r.flag).toBe(v < r.low! ? 'L' : v > r.high! ? 'H' : 'N');
    }
    expect(results.some((r) => r.flag === 'H')).toBe(true);
  });

  it('immunizes only children, on the national schedule, and contracts elders and chronic patients with a family doctor', () => {
    const clock = makeClock(opts.asOf);
    for (const e of events) {
      const r = pop.byId.get(e.personId)!;
      if (e.kind === 'immunization') {
        expect(clock.age(r.birthDate)).toBeLessThan(7);
        expect(['cvx', 'local']).toContain(e.vaccine.system);
      }
      if (e.kind === 'contract') {
        expect(clock.age(r.birthDate) >= 65 || r.chronic.length > 0).toBe(true);
        const doctor = directory.practitioners.find((p) => p.id === e.practitionerId)!;
        expect(doctor.roles).toContain('family-doctor');
        expect(doctor.team).toBe(e.teamNo);
        expect(doctor.staffNo).toBe(e.doctorStaffNo);
        expect(['township-health-centre', 'community-health-centre']).toContain(tierOf(e.institutionId));
        expect(e.start < e.end).toBe(true);
      }
    }
  });
});
