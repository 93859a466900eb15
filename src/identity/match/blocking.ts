import type { MatchRecord } from './record.ts';
import type { BlockingKind, MatchRules } from './rules.ts';

/**
 * Blocking keys: a new record is compared only with records sharing one of these, so that it
 * meets a handful of candidates instead of a million. Keys are built from normalised fields —
 * pinyin rather than characters, so a homophone typo still lands in the same block, and the
 * birth year rather than the date in the name key, so a day/month swap does too.
 */
export function blockingKeys(r: MatchRecord, rules: Pick<MatchRules, 'blocking'>): string[] {
  const keys = new Set<string>();
  const year = r.birthDate?.slice(0, 4);
  for (const kind of rules.blocking) {
    for (const key of keysOf(kind, r, year)) keys.add(`${kind}:${key}`);
  }
  return [...keys].sort();
}

function keysOf(kind: BlockingKind, r: MatchRecord, year: string | undefined): string[] {
  switch (kind) {
    case 'national-id':
      return r.nationalId ? [r.nationalId.value] : [];
    case 'insurance':
      return r.insurance ? [r.insurance] : [];
    case 'health-card':
      return r.healthCard ? [r.healthCard] : [];
    case 'name-pinyin+birth-year':
      return r.namePinyin && year ? [`${r.namePinyin}|${year}`] : [];
    case 'name-pinyin+phone':
      return r.namePinyin ? r.phones.map((p) => `${r.namePinyin}|${p}`) : [];
    case 'phone+birth-date':
      return r.birthDate ? r.phones.map((p) => `${p}|${r.birthDate}`) : [];
    case 'surname-pinyin+birth-date+sex':
      return r.surnamePinyin && r.birthDate && r.sex ? [`${r.surnamePinyin}|${r.birthDate}|${r.sex}`] : [];
  }
}
