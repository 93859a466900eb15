import { describe, expect, it } from 'vitest';
import { compileCondition, compileFhirPath } from '../../../src/mapping/engine/fhirpath.ts';

// HL7 mappings see their input only through variables (lists of strings), so their expressions
// are memoised on the values of the variables they name: the answers must stay those of FHIRPath.
const focusFree = { focusFree: true };

describe('compileFhirPath with a data-free focus (memoised on its variables)', () => {
  it('answers each combination of values as FHIRPath does, asked in any order and again', () => {
    const fn = compileFhirPath("%t.first() = 'NM' and %u.exists()", ['t', 'u'], focusFree);
    const plain = compileFhirPath("%t.first() = 'NM' and %u.exists()", ['t', 'u']);
    const envs = [
      { t: ['NM'], u: ['mmol/L'] },
      { t: ['NM'], u: [] },
      { t: ['ST'], u: ['x'] },
      { t: [], u: ['x'] },
      { t: ['NM'], u: ['mmol/L'] },
      { t: ['ST'], u: ['x'] },
    ];
    expect(envs.map((e) => fn({}, e))).toEqual(envs.map((e) => plain({}, e)));
    // An absent type: the comparison is empty, and so is the condition (FHIRPath's three-valued logic).
    expect(envs.map((e) => fn({}, e)[0])).toEqual([true, false, false, undefined, true, false]);
  });

  it('does not mistake one list of values for another that joins to the same text', () => {
    const fn = compileFhirPath('%v.count()', ['v'], focusFree);
    expect(fn({}, { v: ['a;b'] })).toEqual([1]);
    expect(fn({}, { v: ['a', 'b'] })).toEqual([2]);
    expect(fn({}, { v: ['1:a', 'b'] })).toEqual([2]);
    expect(fn({}, { v: ['1:a1:b'] })).toEqual([1]);
  });

  it('gives each caller its own result list', () => {
    const fn = compileFhirPath("%v.first() + '!'", ['v'], focusFree);
    const first = fn({}, { v: ['x'] });
    first.push('changed by a caller');
    expect(fn({}, { v: ['x'] })).toEqual(['x!']);
  });
});

describe('compileCondition', () => {
  it('holds when every expression of a list gives true, and stops at the first that does not', () => {
    // `single()` on two values throws: asked only when the first condition holds.
    const cond = compileCondition(["%kind.first() = 'one'", '%v.single().exists()'], ['kind', 'v']);
    expect(cond({}, { kind: ['other'], v: ['a', 'b'] })).toEqual([false]);
    expect(cond({}, { kind: ['one'], v: ['a'] })).toEqual([true]);
    expect(() => cond({}, { kind: ['one'], v: ['a', 'b'] })).toThrow(/single/);
  });

  it('passes on a non-boolean answer so the mapping can report it', () => {
    const cond = compileCondition(['true', '%v'], ['v']);
    expect(cond({}, { v: ['text'] })).toEqual(['text']);
  });
});
