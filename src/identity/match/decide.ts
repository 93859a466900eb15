import { compareBirthDates, compareRecords } from './compare.ts';
import type { MatchRecord } from './record.ts';
import type { FieldLevels, MatchField, MatchRules, Outcome, VetoName } from './rules.ts';

/** IHE PDQm/$match grades (http://hl7.org/fhir/match-grade). */
export type MatchGrade = 'certain' | 'probable' | 'possible' | 'certainly-not';

export type DecidingRule =
  | 'national-id'
  | 'national-id-slip'
  | 'national-id-conflict'
  | 'national-id-demographics'
  | 'insurance'
  | 'health-card'
  | 'probabilistic';

export interface FieldEvidence {
  level: string;
  weight: number;
}

/** The decision on one pair of records, with what drove it (stored with every decision). */
export interface PairDecision {
  outcome: Outcome;
  grade: MatchGrade;
  /** The Fellegi–Sunter score of the compared fields (also computed when an identifier decided). */
  score: number;
  rule: DecidingRule;
  fields: Partial<Record<MatchField, FieldEvidence>>;
  /** The veto that capped the outcome, when one did. */
  veto?: string;
}

const RANK: Record<Outcome, number> = { new: 0, review: 1, link: 2 };
const capped = (outcome: Outcome, cap: Outcome | undefined): Outcome =>
  cap !== undefined && RANK[cap] < RANK[outcome] ? cap : outcome;

function evidence(levels: Partial<FieldLevels>, rules: MatchRules) {
  const fields: Partial<Record<MatchField, FieldEvidence>> = {};
  let score = 0;
  for (const [field, level] of Object.entries(levels) as [MatchField, string][]) {
    const weight = (rules.weights[field] as Record<string, number>)[level] ?? 0;
    fields[field] = { level, weight: Math.round(weight * 100) / 100 };
    score += weight;
  }
  return { fields, score: Math.round(score * 100) / 100 };
}

type IdAgreement = 'agrees' | 'birthDateSwapped' | 'sexWrong' | 'disagrees';

/**
 * How the record's own birth date and sex stand to what its national ID encodes: agreeing (or
 * absent), off by exactly one typing slip — day and month exchanged with the sex right, or the
 * sex wrong with the birth date exactly right — or disagreeing as another person's record would.
 */
function idAgreement(r: MatchRecord): IdAgreement {
  const id = r.nationalId!;
  const dateOk = r.birthDate === undefined || r.birthDate === id.birthDate;
  const sexOk = r.sex === undefined || r.sex === id.sex;
  if (dateOk && sexOk) return 'agrees';
  if (!dateOk && sexOk && compareBirthDates(r.birthDate, id.birthDate) === 'day-month-swapped')
    return 'birthDateSwapped';
  if (dateOk && !sexOk && r.birthDate !== undefined) return 'sexWrong';
  return 'disagrees';
}

/** Equal verified IDs: link when both records agree with the ID, or slip only as the rules allow. */
function decideEqualIds(
  a: MatchRecord,
  b: MatchRecord,
  name: FieldLevels['name'] | undefined,
  rules: MatchRules,
): { outcome: Outcome; grade: MatchGrade; rule: DecidingRule } {
  const slips = [idAgreement(a), idAgreement(b)].filter((x) => x !== 'agrees');
  if (slips.length === 0) return { outcome: 'link', grade: 'certain', rule: 'national-id' };
  const forgiven = slips.every(
    (slip) =>
      slip !== 'disagrees' && name !== undefined && (rules.nationalIdSlips[slip] ?? []).includes(name),
  );
  return forgiven
    ? { outcome: 'link', grade: 'probable', rule: 'national-id-slip' }
    : { outcome: 'review', grade: 'possible', rule: 'national-id-demographics' };
}

/** Decides one pair by the rules file: identifiers first, then the score and the vetoes. */
export function decidePair(a: MatchRecord, b: MatchRecord, rules: MatchRules): PairDecision {
  const levels = compareRecords(a, b);
  const { fields, score } = evidence(levels, rules);
  const base = { score, fields };

  if (a.nationalId && b.nationalId) {
    if (a.nationalId.value !== b.nationalId.value) {
      return { ...base, outcome: 'new', grade: 'certainly-not', rule: 'national-id-conflict' };
    }
    return { ...base, ...decideEqualIds(a, b, levels.name, rules) };
  }

  const sharedCard =
    a.insurance && a.insurance === b.insurance
      ? 'insurance'
      : a.healthCard && a.healthCard === b.healthCard
        ? 'health-card'
        : undefined;
  if (sharedCard) {
    const contradicted = levels.name === 'different' || levels.birthDate === 'different';
    return contradicted
      ? { ...base, outcome: 'review', grade: 'possible', rule: sharedCard }
      : { ...base, outcome: 'link', grade: 'certain', rule: sharedCard };
  }

  let outcome: Outcome =
    score >= rules.thresholds.link ? 'link' : score >= rules.thresholds.review ? 'review' : 'new';
  let veto: string | undefined;
  const vetoes = rules.vetoes;
  const applicable: [VetoName, Outcome | undefined][] = [];
  if (levels.name === 'different') applicable.push(['name-different', vetoes['name-different']]);
  if (levels.name === 'one-char') {
    applicable.push(
      levels.sex === 'different'
        ? ['name-one-char-and-sex-different', vetoes['name-one-char-and-sex-different']]
        : ['name-one-char', vetoes['name-one-char']],
    );
  }
  if (levels.name === 'homophone' && levels.sex === 'different') {
    applicable.push(['name-homophone-and-sex-different', vetoes['name-homophone-and-sex-different']]);
  }
  for (const [name, cap] of applicable) {
    const next = capped(outcome, cap);
    if (next !== outcome) {
      outcome = next;
      veto = name;
    }
  }
  const grade: MatchGrade =
    outcome === 'link' ? 'probable' : outcome === 'review' ? 'possible' : 'certainly-not';
  return { ...base, outcome, grade, rule: 'probabilistic', ...(veto ? { veto } : {}) };
}
