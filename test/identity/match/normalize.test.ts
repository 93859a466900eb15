import { describe, expect, it } from 'vitest';
import { compareBirthDates, compareNames } from '../../../src/identity/match/compare.ts';
import {
  nameChars,
  namePinyinKey,
  normalizeAddress,
  normalizePhone,
  villageOf,
} from '../../../src/identity/match/normalize.ts';

describe('matching normalisation', () => {
  it('simplifies traditional and variant characters and drops separators', () => {
    expect(nameChars('陳麗華').join('')).toBe('陈丽华');
    expect(nameChars('阿依古丽·买买提').join('')).toBe('阿依古丽买买提');
    expect(nameChars('王　建国').join('')).toBe('王建国'); // an ideographic space
  });

  it('gives homophones one pinyin key and reads surnames as surnames', () => {
    expect(namePinyinKey(nameChars('杨志明'))).toBe(namePinyinKey(nameChars('杨志铭')));
    expect(namePinyinKey(nameChars('单田芳'))).toMatch(/^shan/);
  });

  it('normalises phones and addresses', () => {
    expect(normalizePhone('+86 139-0578-1234')).toBe('13905781234');
    expect(normalizePhone('0086 13905781234')).toBe('13905781234');
    expect(normalizePhone('123')).toBeUndefined();
    expect(normalizeAddress('浙江省青山县桥头镇东村12号')).toBe('桥头镇东村12号');
    expect(villageOf('桥头镇东村12号')).toBe('桥头镇东村');
  });

  it('compares names and birth dates by level', () => {
    expect(compareNames(nameChars('王建国'), nameChars('王建国'))).toBe('exact');
    expect(compareNames(nameChars('王丽华'), nameChars('汪丽华'))).toBe('homophone');
    expect(compareNames(nameChars('王建国'), nameChars('王建图'))).toBe('one-char');
    expect(compareNames(nameChars('王建国'), nameChars('李建国'))).toBe('different');
    expect(compareNames([], nameChars('王建国'))).toBeUndefined();
    expect(compareBirthDates('1966-03-07', '1966-07-03')).toBe('day-month-swapped');
    expect(compareBirthDates('1948-02-02', '1946-02-02')).toBe('one-digit');
    expect(compareBirthDates('1948-02-02', '1984-02-02')).toBe('different');
  });
});
