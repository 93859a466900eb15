import { describe, expect, it } from 'vitest';
import { OperationOutcomeError } from '../../../src/kernel/outcomes.ts';
import { loadFhirModel } from '../../../src/repository/fhir-model.ts';
import {
  containsGrams,
  escapeLike,
  normalizeSearchString,
  parseDateValue,
  parseNumberValue,
  parseTokenValue,
  splitOr,
  unescapeValue,
} from '../../../src/repository/search/param-values.ts';
import { parseCriterion } from '../../../src/repository/search/parse-criteria.ts';
import { parseSearchRequest } from '../../../src/repository/search/parse-request.ts';
import { decodeCursor, encodeCursor } from '../../../src/repository/search/sort-cursor.ts';

const model = loadFhirModel();
const ctx = { model, baseUrl: 'http://hie.test/fhir' };

function status(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof OperationOutcomeError) return err.status;
    throw err;
  }
  return undefined;
}

describe('value parsing', () => {
  it('dates span their own precision, in UTC unless a zone is given', () => {
    expect(parseDateValue('2020', 'd')).toEqual({
      prefix: 'eq',
      lo: '2020-01-01T00:00:00.000Z',
      next: '2021-01-01T00:00:00.000Z',
    });
    expect(parseDateValue('ge2020-02', 'd')).toMatchObject({
      prefix: 'ge',
      lo: '2020-02-01T00:00:00.000Z',
      next: '2020-03-01T00:00:00.000Z',
    });
    expect(parseDateValue('2020-12-31', 'd').next).toBe('2021-01-01T00:00:00.000Z');
    expect(parseDateValue('2020-05-01T10:00', 'd')).toMatchObject({
      lo: '2020-05-01T10:00:00.000Z',
      next: '2020-05-01T10:01:00.000Z',
    });
    expect(parseDateValue('2020-05-01T10:00:00+08:00', 'd')).toMatchObject({
      lo: '2020-05-01T02:00:00.000Z',
      next: '2020-05-01T02:00:01.000Z',
    });
    // An unencoded '+' arrives as a space.
    expect(parseDateValue('2020-05-01T10:00:00 08:00', 'd').lo).toBe('2020-05-01T02:00:00.000Z');
    expect(parseDateValue('sa2020-05-01T10:00:00.5Z', 'd')).toMatchObject({
      prefix: 'sa',
      next: '2020-05-01T10:00:00.600Z',
    });
  });

  it('refuses impossible dates and unsupported prefixes', () => {
    for (const bad of ['2020-02-30', '2021-13', '20200101', 'yesterday', 'ap2020', '2020-05-01T25:00']) {
      expect(
        status(() => parseDateValue(bad, 'birthdate')),
        bad,
      ).toBe(400);
    }
    expect(parseDateValue('2024-02-29', 'd').lo).toBe('2024-02-29T00:00:00.000Z');
  });

  it('numbers keep their text and implicit precision', () => {
    expect(parseNumberValue('5.4', 'n')).toEqual({ prefix: 'eq', value: '5.4', half: '5e-2' });
    expect(parseNumberValue('gt100', 'n')).toEqual({ prefix: 'gt', value: '100', half: '5e-1' });
    expect(parseNumberValue('1e2', 'n').half).toBe('5e1');
    expect(status(() => parseNumberValue('sa5', 'n'))).toBe(400);
    expect(status(() => parseNumberValue('five', 'n'))).toBe(400);
  });

  it('tokens: code, system|code, |code, system|; prefixes refused', () => {
    expect(parseTokenValue('male', 't')).toEqual({ system: undefined, code: 'male' });
    expect(parseTokenValue('http://loinc.org|1234-5', 't')).toEqual({
      system: 'http://loinc.org',
      code: '1234-5',
    });
    expect(parseTokenValue('|abc', 't')).toEqual({ system: null, code: 'abc' });
    expect(parseTokenValue('urn:sys|', 't')).toEqual({ system: 'urn:sys', code: undefined });
    expect(parseTokenValue('a\\|b', 't')).toEqual({ system: undefined, code: 'a|b' });
    expect(status(() => parseTokenValue('ge5', 't'))).toBe(400);
    expect(status(() => parseTokenValue('a|b|c', 't'))).toBe(400);
  });

  it('escapes: comma splits unless escaped; LIKE wildcards are escaped', () => {
    expect(splitOr('a,b\\,c').map(unescapeValue)).toEqual(['a', 'b,c']);
    expect(unescapeValue('x\\y')).toBe('x\\y');
    expect(escapeLike('50%_a\\b')).toBe('50\\%\\_a\\\\b');
  });

  it('strings normalise like the index and :contains uses 2-grams or the single character', () => {
    expect(normalizeSearchString('Ｍüller')).toBe('muller');
    expect(containsGrams('秀')).toEqual(['秀']);
    expect(containsGrams('王秀英')).toEqual(['王秀', '秀英']);
  });
});

describe('criteria', () => {
  const parse = (name: string, value: string, types = ['Observation']) =>
    parseCriterion(ctx, types, name, value);

  it('knows the parameters of the type and returns undefined for unknown names', () => {
    expect(parse('code', 'http://loinc.org|1234-5')).toMatchObject({ kind: 'token', code: 'code' });
    expect(parse('nonsense', 'x')).toBeUndefined();
  });

  it('references: Type/id, bare id, absolute local URL, foreign URL, :Type', () => {
    expect(parse('subject', 'Patient/1')).toMatchObject({ values: [{ targetTypes: ['Patient'], id: '1' }] });
    expect(parse('subject', 'http://hie.test/fhir/Patient/1')).toMatchObject({
      values: [{ targetTypes: ['Patient'], id: '1' }],
    });
    expect(parse('subject', 'http://other.org/fhir/Patient/1')).toMatchObject({
      values: [{ url: 'http://other.org/fhir/Patient/1' }],
    });
    expect(parse('subject:Patient', '1')).toMatchObject({ values: [{ targetTypes: ['Patient'], id: '1' }] });
    const bare = parse('subject', '1') as { values: { targetTypes: string[] }[] };
    expect(bare.values[0]!.targetTypes.sort()).toEqual(['Device', 'Group', 'Location', 'Patient']);
    expect(status(() => parse('subject:Practitioner', '1'))).toBe(400);
    expect(parse('subject:identifier', 'urn:x|1')).toMatchObject({
      kind: 'token',
      code: 'subject:identifier',
    });
  });

  it('chains need one target type; _has checks its reference parameter', () => {
    expect(parse('patient.name', 'wang')).toMatchObject({
      kind: 'chain',
      targetType: 'Patient',
      inner: { kind: 'string' },
    });
    expect(parse('subject:Patient.identifier', 'urn:x|1')).toMatchObject({
      kind: 'chain',
      targetType: 'Patient',
    });
    expect(status(() => parse('subject.name', 'wang'))).toBe(400);
    expect(status(() => parse('patient.nonsense', 'x'))).toBe(400);
    expect(status(() => parse('code.name', 'x'))).toBe(400);
    expect(parse('_has:Observation:patient:code', '1234-5', ['Patient'])).toMatchObject({
      kind: 'has',
      sourceType: 'Observation',
    });
    expect(status(() => parse('_has:Observation:code:code', 'x', ['Patient']))).toBe(400);
    expect(status(() => parse('_has:Observation:patient', 'x', ['Patient']))).toBe(400);
  });

  it('unsupported modifiers and bad values are 400 whatever the handling', () => {
    expect(status(() => parse('code:of-type', 'x'))).toBe(400);
    expect(status(() => parse('code:below', 'x'))).toBe(400);
    expect(status(() => parse('date:exact', '2020'))).toBe(400);
    expect(status(() => parse('date', 'soon'))).toBe(400);
    expect(status(() => parse('value-quantity', 'abc'))).toBe(400);
    expect(status(() => parse('code:missing', 'maybe'))).toBe(400);
    expect(status(() => parse('active', 'yes', ['Patient']))).toBe(400);
    expect(parse('active', 'true', ['Patient'])).toMatchObject({ kind: 'token' });
  });
});

describe('request', () => {
  // null = system level (an `undefined` argument would take the default).
  const req = (params: [string, string][], strict = false, resourceType: string | null = 'Patient') =>
    parseSearchRequest(ctx, { resourceType: resourceType ?? undefined, params, strict });

  it('lenient handling turns unknown parameters into warnings, strict into 400', () => {
    const parsed = req([
      ['foo', 'bar'],
      ['name', 'x'],
    ]);
    expect(parsed.issues).toHaveLength(1);
    expect(parsed.issues[0]).toMatchObject({ severity: 'warning', code: 'not-supported' });
    expect(parsed.issues[0]!.diagnostics).toContain('foo');
    expect(parsed.used).toEqual([['name', 'x']]);
    expect(status(() => req([['foo', 'bar']], true))).toBe(400);
  });

  it('result parameters are checked', () => {
    expect(req([['_count', '5000']]).count).toBe(1000);
    expect(status(() => req([['_count', '-1']]))).toBe(400);
    expect(status(() => req([['_total', 'some']]))).toBe(400);
    expect(status(() => req([['_summary', 'brief']]))).toBe(400);
    expect(status(() => req([['_include', '*']]))).toBe(400);
    expect(status(() => req([['_include:iterate', 'Patient:organization']]))).toBe(400);
    expect(status(() => req([['_include', 'Observation:subject']]))).toBe(400);
    expect(status(() => req([['_sort', 'link']]))).toBe(400);
    expect(status(() => req([['_filter', 'name eq x']]))).toBe(400);
    expect(req([['_sort', '-birthdate,_id']]).sort).toEqual([
      { kind: 'date', code: 'birthdate', descending: true },
      { kind: 'id', code: '', descending: false },
    ]);
  });

  it('system level: _type restricts types; without it only common parameters exist', () => {
    expect(req([['_type', 'Patient,Observation']], false, null).types).toEqual(['Patient', 'Observation']);
    expect(status(() => req([['_type', 'Nope']], false, null))).toBe(400);
    expect(req([['_tag', 'a|b']], true, null).criteria).toHaveLength(1);
    expect(status(() => req([['name', 'x']], true, null))).toBe(400);
    expect(status(() => req([], false, 'NoSuchType'))).toBe(404);
  });

  it('cursors round-trip and garbled ones are refused', () => {
    const cols = [{ expr: 'x', cast: 'timestamptz' as const, descending: true }];
    const c = encodeCursor('-date', { values: ['2020-01-01 00:00:00+00'], type: 'Patient', id: 'a' });
    expect(decodeCursor(c, '-date', cols)).toEqual({
      values: ['2020-01-01 00:00:00+00'],
      type: 'Patient',
      id: 'a',
    });
    expect(status(() => decodeCursor(c, 'date', cols))).toBe(400);
    expect(status(() => decodeCursor('garbage!!', '-date', cols))).toBe(400);
    const evil = encodeCursor('-date', { values: ["'; DROP TABLE resource; --"], type: 'Patient', id: 'a' });
    expect(status(() => decodeCursor(evil, '-date', cols))).toBe(400);
  });
});
