import { pinyin } from 'pinyin-pro';
import { simplifiedChar } from './variant-characters.ts';

/**
 * Field normalisation for matching: the forms two records are compared in. Pure functions; the
 * per-character pinyin readings are cached because a county's names reuse a few thousand
 * characters.
 */

const HAN = /\p{Script=Han}/u;

/**
 * A name as its characters: NFKC (full-width letters to ASCII), separators removed (spaces,
 * the middle dots of minority names 阿依·买买提), traditional/variant characters simplified,
 * Latin letters lower-cased.
 */
export function nameChars(raw: string): string[] {
  const out: string[] = [];
  for (const ch of raw.normalize('NFKC')) {
    if (/[\s·•．.\-_'’]/u.test(ch)) continue;
    out.push(HAN.test(ch) ? simplifiedChar(ch) : ch.toLowerCase());
  }
  return out;
}

const readingsCache = new Map<string, readonly string[]>();

/** Every toneless pinyin reading of a Han character (polyphones have several); else the char. */
export function readings(ch: string): readonly string[] {
  let hit = readingsCache.get(ch);
  if (!hit) {
    hit = HAN.test(ch) ? [...new Set(pinyin(ch, { toneType: 'none', multiple: true, type: 'array' }))] : [ch];
    if (hit.length === 0) hit = [ch];
    readingsCache.set(ch, hit);
  }
  return hit;
}

/**
 * The name's pinyin key for blocking: the contextual reading of each character, surname
 * readings for the leading characters (曾 zeng, 单 shan), no tones, joined. Homophone typos
 * (明/铭) give the same key.
 */
export function namePinyinKey(chars: readonly string[]): string {
  if (chars.length === 0) return '';
  if (!chars.every((c) => HAN.test(c))) return chars.join('');
  return pinyin(chars.join(''), { toneType: 'none', type: 'array', surname: 'head' }).join('');
}

/** The pinyin of the surname for blocking: the first character (compound surnames: two). */
export function surnamePinyin(chars: readonly string[]): string {
  if (chars.length === 0) return '';
  return readings(chars[0]!)[0]!;
}

/**
 * Phone numbers as digits: `+86`/`0086` country prefixes dropped, separators removed. Landlines
 * keep their area code (0578-…). Fewer than 7 digits is not a usable number.
 */
export function normalizePhone(raw: string): string | undefined {
  let digits = raw.normalize('NFKC').replace(/\D/g, '');
  if (digits.startsWith('0086')) digits = digits.slice(4);
  else if (digits.length === 13 && digits.startsWith('86')) digits = digits.slice(2);
  return digits.length >= 7 ? digits : undefined;
}

/**
 * An address without the province/city/county prefix the systems add or leave out, so that
 * 浙江省青山县桥头镇东村12号 and 桥头镇东村12号 compare equal.
 */
export function normalizeAddress(raw: string): string | undefined {
  let text = raw.normalize('NFKC').replace(/\s+/g, '');
  text = text.replace(/^(?:[^省]{2,7}省)?(?:[^市]{2,7}市)?(?:[^县区]{1,7}[县区])?/u, '');
  return text.length > 0 ? text : undefined;
}

/** The village (or street) part of an address: the house number and what follows removed. */
export function villageOf(address: string): string | undefined {
  const village = address.replace(/[\d\-—]+号.*$/u, '').replace(/\d+$/u, '');
  return village.length > 0 ? village : undefined;
}
