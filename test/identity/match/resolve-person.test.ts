import type { Patient } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { NATIONAL_ID_SYSTEM, nationalIdCheckChar } from '../../../src/identity/national-id.ts';
import { matchRecordOf } from '../../../src/identity/match/record.ts';
import { resolvePerson } from '../../../src/identity/match/resolve-person.ts';
import { loadMatchRules } from '../../../src/identity/match/rules.ts';

const BASE = 'https://county-hie.org/fhir';
const rules = loadMatchRules();
const today = new Date('2026-12-01T00:00:00Z');
const nid = (first17: string) => first17 + nationalIdCheckChar(first17);

const record = (id: string, p: Omit<Patient, 'resourceType'>) =>
  matchRecordOf({ resourceType: 'Patient', id, ...p }, { base: BASE, today });
const wang = (id: string, extra: Omit<Patient, 'resourceType'> = {}) =>
  record(id, {
    name: [{ text: '王建国' }],
    gender: 'male',
    birthDate: '1958-03-12',
    telecom: [{ system: 'phone', value: '13905781234' }],
    ...extra,
  });

describe('choosing the person for a record', () => {
  it('joins the one established person when the other match is a person waiting in review', () => {
    const r = resolvePerson(
      wang('new'),
      [
        { record: wang('a'), personId: 'person-a' },
        { record: wang('x'), personId: 'person-x', provisional: true },
      ],
      rules,
    );
    expect(r).toMatchObject({ outcome: 'link', personId: 'person-a' });
  });

  it('asks a reviewer when two established persons both qualify', () => {
    const r = resolvePerson(
      wang('new'),
      [
        { record: wang('a'), personId: 'person-a' },
        { record: wang('b'), personId: 'person-b' },
      ],
      rules,
    );
    expect(r.outcome).toBe('review');
    expect(r.note).toMatch(/2 persons/);
  });

  it('rules out a whole person when one of its records holds a different verified ID', () => {
    const mine = nid('33112419580312001');
    const other = nid('33112419580312003');
    const withId = (id: string, value: string) =>
      wang(id, { identifier: [{ system: NATIONAL_ID_SYSTEM, value }] });
    const r = resolvePerson(
      withId('new', mine),
      [
        { record: wang('a'), personId: 'person-a' }, // no ID: alone it would link
        { record: withId('a2', other), personId: 'person-a' },
      ],
      rules,
    );
    expect(r.outcome).toBe('new');
  });

  it('skips pairs a reviewer rejected', () => {
    const candidates = [{ record: wang('a'), personId: 'person-a' }];
    expect(resolvePerson(wang('new'), candidates, rules).outcome).toBe('link');
    expect(resolvePerson(wang('new'), candidates, rules, (_x, y) => y === 'Patient/a').outcome).toBe('new');
  });
});
