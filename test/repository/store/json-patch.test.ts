import { describe, expect, it } from 'vitest';
import { OperationOutcomeError } from '../../../src/kernel/outcomes.ts';
import { applyJsonPatch } from '../../../src/repository/store/json-patch.ts';

const patient = () => ({
  resourceType: 'Patient',
  id: 'p1',
  name: [{ family: '王', given: ['秀英'] }],
  active: true,
});

function statusOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof OperationOutcomeError ? e.status : -1;
  }
  return undefined;
}

describe('JSON Patch (RFC 6902)', () => {
  it('applies add, replace, remove, copy, move and test in order, leaving the input untouched', () => {
    const input = patient();
    const out = applyJsonPatch(input, [
      { op: 'test', path: '/active', value: true },
      { op: 'replace', path: '/active', value: false },
      { op: 'add', path: '/name/0/given/-', value: '阿英' },
      { op: 'add', path: '/gender', value: 'female' },
      { op: 'copy', from: '/name/0', path: '/name/1' },
      { op: 'move', from: '/name/1/family', path: '/name/1/text' },
      { op: 'remove', path: '/name/0/given/0' },
    ]);
    expect(out).toEqual({
      resourceType: 'Patient',
      id: 'p1',
      active: false,
      gender: 'female',
      name: [
        { family: '王', given: ['阿英'] },
        { given: ['秀英', '阿英'], text: '王' },
      ],
    });
    expect(input).toEqual(patient());
  });

  it('decodes ~0 and ~1 in pointers', () => {
    const out = applyJsonPatch({ resourceType: 'Basic', 'a/b': 1, 'c~d': 2 } as any, [
      { op: 'remove', path: '/a~1b' },
      { op: 'replace', path: '/c~0d', value: 3 },
    ]);
    expect(out).toEqual({ resourceType: 'Basic', 'c~d': 3 });
  });

  it('refuses a failed test and a missing path with 422, a malformed patch with 400', () => {
    expect(statusOf(() => applyJsonPatch(patient(), [{ op: 'test', path: '/active', value: false }]))).toBe(
      422,
    );
    expect(
      statusOf(() => applyJsonPatch(patient(), [{ op: 'replace', path: '/birthDate', value: '2000' }])),
    ).toBe(422);
    expect(statusOf(() => applyJsonPatch(patient(), [{ op: 'add', path: '/name/5', value: {} }]))).toBe(422);
    expect(statusOf(() => applyJsonPatch(patient(), { op: 'add' }))).toBe(400);
    expect(statusOf(() => applyJsonPatch(patient(), [{ op: 'frobnicate', path: '/a' }]))).toBe(400);
    expect(statusOf(() => applyJsonPatch(patient(), [{ op: 'add', path: 'no-slash', value: 1 }]))).toBe(400);
  });
});
