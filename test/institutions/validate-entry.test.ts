import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dependencyOrder } from '../../src/institutions/dependency-order.ts';
import { DEFAULT_REGISTRY_FILE } from '../../src/institutions/seed.ts';
import type { InstitutionEntry } from '../../src/institutions/types.ts';
import { InstitutionValidationError, validateEntries } from '../../src/institutions/validate-entry.ts';

const good = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  id: 'test-hospital',
  name: { zh: '测试医院', en: 'Test Hospital' },
  tier: 'county-hospital',
  facilityCodes: ['TH'],
  formats: ['hl7v2-mllp', 'csv:visits', 'json:his', 'fhir'],
  timezone: '+08:00',
  charset: 'GB18030',
  ...over,
});

/** The problems a list of entries is refused with (fails the test if it is accepted). */
function problems(values: unknown[], existing: InstitutionEntry[] = []): string[] {
  try {
    validateEntries(values, existing);
  } catch (err) {
    if (err instanceof InstitutionValidationError) return err.problems;
    throw err;
  }
  throw new Error('accepted');
}

describe('institution entry validation', () => {
  it('accepts a member that exchanges no records (no formats)', () => {
    const [entry] = validateEntries([good({ id: 'supply-centre', tier: 'shared-centre', formats: [] })], []);
    expect(entry!.formats).toEqual([]);
  });

  it('accepts the shipped seed file, parents before children', () => {
    const seed = JSON.parse(readFileSync(DEFAULT_REGISTRY_FILE, 'utf8')) as unknown[];
    const entries = validateEntries(seed);
    expect(entries.map((e) => e.id)).toContain('dongcun-village-clinic');
    const village = entries.find((e) => e.id === 'dongcun-village-clinic')!;
    expect(village).toMatchObject({
      tier: 'village-clinic',
      charset: 'GB18030',
      partOf: 'qiaotou-township-health-centre',
    });
  });

  it('returns the entry in the public shape, field order fixed', () => {
    const [entry] = validateEntries([{ ...good(), charset: 'UTF-8', partOf: undefined }]);
    expect(Object.keys(entry!)).toEqual([
      'id',
      'name',
      'tier',
      'facilityCodes',
      'formats',
      'timezone',
      'charset',
    ]);
  });

  it.each([
    [{ id: 'Bad_Id' }, '[0].id: must match'],
    [{ id: 'x' }, '[0].id: must match'],
    [{ tier: 'hospital' }, '[0].tier: must be one of'],
    [{ formats: ['hl7v2-tcp'] }, '[0].formats[0]: "hl7v2-tcp" is not one of'],
    [{ formats: ['csv:'] }, '[0].formats[0]'],
    [{ timezone: '+8:00' }, '[0].timezone: must be an offset'],
    [{ timezone: '+15:00' }, '[0].timezone'],
    [{ charset: 'KLINGON-8' }, '[0].charset: must be a character set'],
    [{ name: { zh: '测试' } }, '[0].name.en: must be a non-empty string'],
    [{ facilityCodes: ['A|B'] }, '[0].facilityCodes[0]'],
    [{ facilityCodes: 'TH' }, '[0].facilityCodes: must be an array of strings'],
    [{ facilitycodes: ['TH'] }, '[0].facilitycodes: is not a field'],
    [{ partOf: 'test-hospital' }, '[0].partOf: an institution cannot be part of itself'],
  ])('refuses %j naming the field', (over, expected) => {
    const found = problems([good(over)]);
    expect(
      found.some((p) => p.startsWith(expected)),
      found.join('\n'),
    ).toBe(true);
  });

  it('refuses a partOf naming nobody, a duplicate id, a facility code owned by another, and a cycle', () => {
    expect(problems([good({ partOf: 'nobody-here' })])).toEqual(['[0].partOf: no institution "nobody-here"']);
    expect(problems([good(), good({ facilityCodes: ['X'] })])).toContain(
      '[1].id: "test-hospital" is already registered',
    );
    expect(problems([good(), good({ id: 'other', facilityCodes: ['TH'] })])).toEqual([
      '[1].facilityCodes[0]: "TH" already belongs to test-hospital',
    ]);
    const cycle = problems([
      good({ id: 'aa', partOf: 'bb', facilityCodes: ['A'] }),
      good({ id: 'bb', partOf: 'aa', facilityCodes: ['B'] }),
    ]);
    expect(cycle.some((p) => p.startsWith('[0].partOf: "aa" is part of itself'))).toBe(true);
  });

  it('orders parents before children whatever the input order', () => {
    const order = dependencyOrder([
      { id: 'village', partOf: 'township' },
      { id: 'township', partOf: 'county' },
      { id: 'lab', partOf: 'county' },
      { id: 'county' },
    ]).map((e) => e.id);
    expect(order).toEqual(['county', 'township', 'village', 'lab']);
  });
});
