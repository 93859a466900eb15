import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { parse as parseYaml } from 'yaml';

const IDENTITY_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../mappings/identity');
/** The shipped matching rules. */
export const DEFAULT_MATCH_RULES = path.join(IDENTITY_DIR, 'match-rules.yaml');
const SCHEMA_FILE = path.join(IDENTITY_DIR, 'match-rules.schema.json');

export type NameLevel = 'exact' | 'homophone' | 'one-char' | 'different';
export type BirthDateLevel = 'exact' | 'day-month-swapped' | 'one-digit' | 'different';
export type SexLevel = 'same' | 'different';
export type PhoneLevel = 'shared' | 'different';
export type AddressLevel = 'exact' | 'same-village' | 'different';

export interface FieldLevels {
  name: NameLevel;
  birthDate: BirthDateLevel;
  sex: SexLevel;
  phone: PhoneLevel;
  address: AddressLevel;
}
export type MatchField = keyof FieldLevels;
export type BlockingKind =
  | 'national-id'
  | 'insurance'
  | 'health-card'
  | 'name-pinyin+birth-year'
  | 'name-pinyin+phone'
  | 'phone+birth-date'
  | 'surname-pinyin+birth-date+sex';
export type Outcome = 'link' | 'review' | 'new';
export type VetoName =
  'name-different' | 'name-one-char' | 'name-one-char-and-sex-different' | 'name-homophone-and-sex-different';

interface RulesFile {
  version: string;
  description?: string;
  thresholds: { link: number; review: number };
  fields: { [F in MatchField]: Record<FieldLevels[F], { m: number; u: number }> };
  vetoes: Partial<Record<VetoName, Outcome>>;
  nationalIdSlips?: NationalIdSlips;
  blocking: BlockingKind[];
  survivorship: { tierTrust: Record<string, number> };
}

/**
 * Typing slips against an equal verified national ID that still link: per kind of slip, the
 * levels at which the two records' names must agree (absent or empty: that slip goes to review).
 */
export interface NationalIdSlips {
  /** The record's birth date is the ID's with day and month exchanged; its sex agrees or is absent. */
  birthDateSwapped?: NameLevel[];
  /** The record's sex is the opposite of the ID's; its birth date is exactly the ID's. */
  sexWrong?: NameLevel[];
}

/** The rules as the matcher uses them: weights computed once from m and u. */
export interface MatchRules {
  readonly file: string;
  readonly version: string;
  readonly thresholds: { readonly link: number; readonly review: number };
  /** log2(m/u) per field and level. */
  readonly weights: { readonly [F in MatchField]: Readonly<Record<FieldLevels[F], number>> };
  readonly vetoes: RulesFile['vetoes'];
  readonly nationalIdSlips: Readonly<NationalIdSlips>;
  readonly blocking: readonly BlockingKind[];
  readonly tierTrust: Readonly<Record<string, number>>;
}

export class MatchRulesError extends Error {}

let validator: ReturnType<Ajv['compile']> | undefined;

/** Reads and checks a rules file; a broken file is refused with every problem and its place. */
export function loadMatchRules(file: string = DEFAULT_MATCH_RULES): MatchRules {
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new MatchRulesError(`${file}: ${(err as Error).message}`);
  }
  validator ??= new Ajv({ allErrors: true, strict: false }).compile(
    JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as object,
  );
  if (!validator(parsed)) {
    const problems = (validator.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
    throw new MatchRulesError(`${file}: ${problems.join('; ')}`);
  }
  const rules = parsed as RulesFile;
  if (rules.thresholds.review > rules.thresholds.link) {
    throw new MatchRulesError(`${file}: /thresholds review (${rules.thresholds.review}) is above link`);
  }
  const weights = {} as Record<MatchField, Record<string, number>>;
  for (const [field, levels] of Object.entries(rules.fields) as [
    MatchField,
    Record<string, { m: number; u: number }>,
  ][]) {
    weights[field] = Object.fromEntries(
      Object.entries(levels).map(([level, { m, u }]) => [level, Math.log2(m / u)]),
    );
  }
  return {
    file,
    version: rules.version,
    thresholds: rules.thresholds,
    weights: weights as unknown as MatchRules['weights'],
    vetoes: rules.vetoes,
    nationalIdSlips: rules.nationalIdSlips ?? {},
    blocking: rules.blocking,
    tierTrust: rules.survivorship.tierTrust,
  };
}
