import { compareRecords } from './compare.ts';
import type { MatchRecord } from './record.ts';
import type { FieldLevels, MatchField, MatchRules, Outcome, VetoName } from './rules.ts';

/** IHE PDQm/$match grades (http://hl7.org/fhir/match-grade). */
export type MatchGrade = 'certain' | 'probable' | 'possible' | 'certainly-not';

export type DecidingRule =
  | 'national-id'
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

/** Does the record's own birth date and sex agree with what its national ID encodes? */
function agreesWithId(r: MatchRecord): boolean {
  const id = r.nationalId!;
  return (
    (r.birthDate === undefined || r.birthDate === id.birthDate) && (r.sex === undefined || r.sex === id.sex)
  );
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
    return agreesWithId(a) && agreesWithId(b)
      ? { ...base, outcome: 'link', grade: 'certain', rule: 'national-id' }
      : { ...base, outcome: 'review', grade: 'possible', rule: 'national-id-demographics' };
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
