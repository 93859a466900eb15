import type { Patient } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { decidePair } from '../../../src/identity/match/decide.ts';
import { matchRecordOf } from '../../../src/identity/match/record.ts';
import { loadMatchRules, type MatchRules } from '../../../src/identity/match/rules.ts';
import { NATIONAL_ID_SYSTEM, nationalIdCheckChar } from '../../../src/identity/national-id.ts';

const BASE = 'https://county-hie.org/fhir';
const today = new Date('2026-12-01T00:00:00Z');
/** A man born 1961-03-08 (the 17th digit is odd). */
const NID = '33112419610308003' + nationalIdCheckChar('33112419610308003');

const record = (id: string, name: string, birthDate?: string, gender?: 'male' | 'female') =>
  matchRecordOf(
    {
      resourceType: 'Patient',
      id,
      identifier: [{ system: NATIONAL_ID_SYSTEM, value: NID }],
      name: [{ text: name }],
      ...(birthDate ? { birthDate } : {}),
      ...(gender ? { gender } : {}),
    } satisfies Patient,
    { base: BASE, today },
  );

const rules = loadMatchRules();
const withoutSlips: MatchRules = { ...rules, nationalIdSlips: {} };
const decide = (a: ReturnType<typeof record>, b: ReturnType<typeof record>, r = rules) => {
  const one = decidePair(a, b, r);
  // Symmetric: the order the records arrive in does not change the answer.
  expect(decidePair(b, a, r).outcome).toBe(one.outcome);
  return [one.outcome, one.rule];
};

describe('typing slips against an equal verified national ID', () => {
  const holder = record('a', '周国平', '1961-03-08', 'male');

  it('day and month exchanged, the names the same or homophones: linked as a slip', () => {
    expect(decide(holder, record('b', '周国平', '1961-08-03', 'male'))).toEqual(['link', 'national-id-slip']);
    expect(decide(holder, record('b', '周国萍', '1961-08-03'))).toEqual(['link', 'national-id-slip']);
    // Names one character apart: the slip alone does not carry it.
    expect(decide(holder, record('b', '周国安', '1961-08-03', 'male'))).toEqual([
      'review',
      'national-id-demographics',
    ]);
  });

  it('the sex wrong with the birth date exactly the ID’s and the same name: linked; a homophone name: review', () => {
    expect(decide(holder, record('b', '周国平', '1961-03-08', 'female'))).toEqual([
      'link',
      'national-id-slip',
    ]);
    expect(decide(holder, record('b', '周国萍', '1961-03-08', 'female'))).toEqual([
      'review',
      'national-id-demographics',
    ]);
    // Without a birth date nothing shows the wrong sex to be a slip.
    expect(decide(holder, record('b', '周国平', undefined, 'female'))).toEqual([
      'review',
      'national-id-demographics',
    ]);
  });

  it('two slips in one record, or a date that is not a swap, go to review', () => {
    expect(decide(holder, record('b', '周国平', '1961-08-03', 'female'))).toEqual([
      'review',
      'national-id-demographics',
    ]);
    // An elder registered under the ID: born years apart.
    expect(decide(holder, record('b', '周国平', '1936-03-08', 'male'))).toEqual([
      'review',
      'national-id-demographics',
    ]);
  });

  it('each record may carry its own slip', () => {
    const swapped = record('a', '周国平', '1961-08-03', 'male');
    const wrongSex = record('b', '周国平', '1961-03-08', 'female');
    expect(decide(swapped, wrongSex)).toEqual(['link', 'national-id-slip']);
  });

  it('a rules file without nationalIdSlips sends every disagreement to review', () => {
    expect(decide(holder, record('b', '周国平', '1961-08-03', 'male'), withoutSlips)).toEqual([
      'review',
      'national-id-demographics',
    ]);
    expect(decide(holder, record('b', '周国平', '1961-03-08', 'female'), withoutSlips)).toEqual([
      'review',
      'national-id-demographics',
    ]);
  });
});
