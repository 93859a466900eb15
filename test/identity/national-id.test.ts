import { describe, expect, it } from 'vitest';
import {
  checkNationalId,
  convertLegacyNationalId,
  nationalIdCheckChar,
  normalizeNationalId,
} from '../../src/identity/national-id.ts';

describe('national ID verification', () => {
  it('accepts a valid ID and reads birth date and sex from it', () => {
    const r = checkNationalId('330522198503121233');
    expect(r).toMatchObject({ valid: true, birthDate: '1985-03-12', sex: 'male', converted: false });
    expect(checkNationalId('330522199003072628')).toMatchObject({ valid: true, sex: 'female' });
  });

  it('accepts the trailing X in either case and full-width digits', () => {
    expect(checkNationalId('11010519491231002X').valid).toBe(true);
    const lower = checkNationalId('11010519491231002x');
    expect(lower).toMatchObject({ valid: true, value: '11010519491231002X' });
    const wide = checkNationalId('３３０５２２１９８５０３１２１２３３');
    expect(wide).toMatchObject({ valid: true, value: '330522198503121233' });
    expect(normalizeNationalId('１１０１０５１９４９１２３１００２ｘ')).toBe('11010519491231002X');
  });

  it('refuses a wrong check digit', () => {
    expect(checkNationalId('330522198503121234')).toMatchObject({ valid: false, reason: 'check-digit' });
  });

  it('refuses 30 February even with a matching check digit', () => {
    const first17 = '33052219850230123';
    const id = first17 + nationalIdCheckChar(first17);
    expect(checkNationalId(id)).toMatchObject({ valid: false, reason: 'birth-date' });
  });

  it('refuses a birth date in the future', () => {
    const first17 = '33052221000101123';
    expect(checkNationalId(first17 + nationalIdCheckChar(first17)).reason).toBe('birth-date');
  });

  it('converts a 15-digit legacy ID to 18 digits', () => {
    expect(convertLegacyNationalId('330522850312123')).toBe('330522198503121233');
    expect(checkNationalId('330522850312123')).toMatchObject({
      valid: true,
      converted: true,
      value: '330522198503121233',
      birthDate: '1985-03-12',
    });
  });

  it('refuses a sex digit that disagrees with the record, and malformed input', () => {
    expect(checkNationalId('330522198503121233', { expectedSex: 'female' })).toMatchObject({
      valid: false,
      reason: 'sex',
    });
    expect(checkNationalId('330522198503121233', { expectedSex: 'male' }).valid).toBe(true);
    expect(checkNationalId('33052219850312123').reason).toBe('format');
    expect(checkNationalId('3305221985031212X3').reason).toBe('format');
  });
});
