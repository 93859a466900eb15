/**
 * Loads and checks the versioned data-quality error model (`src/demo/error-model/v*.yaml`).
 * The file's shape is validated on load so that a broken edit fails loudly with the path of
 * the offending entry, instead of silently producing clean registrations.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { Tier } from '../../institutions/types.ts';

/** The error kinds this generator knows how to apply (ids as in the file). */
export const ERROR_KINDS = [
  'national-id-missing',
  'national-id-digit-typo',
  'national-id-transposition',
  'name-homophone',
  'name-variant-character',
  'birth-date-day-month-swap',
  'birth-date-missing',
  'sex-wrong',
  'sex-missing',
  'phone-guardian',
  'phone-missing',
  'address-short',
  'insurance-missing',
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

export const TIERS: readonly Tier[] = [
  'village-clinic',
  'township-health-centre',
  'community-health-centre',
  'county-hospital',
  'shared-centre',
];

export interface TierErrors {
  /** The MRN's digits after the institution's prefix (at least 7: unique for every person index). */
  mrn: { digits: number };
  probabilities: Record<ErrorKind, number>;
}

export interface HomophoneGroup {
  pinyin: string;
  /** The group's characters, e.g. `明铭鸣`. */
  chars: string;
}

export interface ErrorModel {
  version: string;
  description: string;
  errors: Record<ErrorKind, { description: string }>;
  tiers: Record<Tier, TierErrors>;
  homophoneGroups: HomophoneGroup[];
  /** Simplified character → traditional or variant form. */
  variantCharacters: Record<string, string>;
}

export const DEFAULT_ERROR_MODEL_FILE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../error-model/v1.yaml',
);

const cache = new Map<string, ErrorModel>();
let defaultModel: ErrorModel | undefined;

/** Reads, validates and caches an error model (default: version 1). */
export function loadErrorModel(file?: string): ErrorModel {
  // The default is asked for once per registration: skip resolving its path every time.
  if (file === undefined && defaultModel) return defaultModel;
  const resolved = path.resolve(file ?? DEFAULT_ERROR_MODEL_FILE);
  const cached = cache.get(resolved);
  if (cached) {
    if (resolved === DEFAULT_ERROR_MODEL_FILE) defaultModel = cached;
    return cached;
  }
  let raw: unknown;
  try {
    raw = parse(readFileSync(resolved, 'utf8'));
  } catch (err) {
    throw new Error(`error model ${resolved}: ${(err as Error).message}`, { cause: err });
  }
  const model = validateErrorModel(raw, resolved);
  cache.set(resolved, model);
  if (resolved === DEFAULT_ERROR_MODEL_FILE) defaultModel = model;
  return model;
}

/** Checks the parsed file's shape; throws naming the file and the offending entry. */
export function validateErrorModel(raw: unknown, source = 'error model'): ErrorModel {
  const fail = (where: string, what: string): never => {
    throw new Error(`error model ${source}: ${where} ${what}`);
  };
  if (!isObject(raw)) return fail('the file', 'must be a mapping');
  if (typeof raw.version !== 'string' || raw.version === '')
    fail('version', 'must be a non-empty string (quote it)');
  if (typeof raw.description !== 'string') fail('description', 'must be a string');

  if (!isObject(raw.errors)) return fail('errors', 'must be a mapping of error kind → { description }');
  for (const kind of Object.keys(raw.errors)) {
    if (!(ERROR_KINDS as readonly string[]).includes(kind)) {
      fail(`errors.${kind}`, `is not a known error kind (known: ${ERROR_KINDS.join(', ')})`);
    }
  }
  for (const kind of ERROR_KINDS) {
    const entry = raw.errors[kind];
    if (!isObject(entry) || typeof entry.description !== 'string' || entry.description.trim() === '') {
      fail(`errors.${kind}`, 'must have a description');
    }
  }

  if (!isObject(raw.tiers)) return fail('tiers', 'must be a mapping of tier → { mrn, probabilities }');
  for (const tier of Object.keys(raw.tiers)) {
    if (!(TIERS as readonly string[]).includes(tier))
      fail(`tiers.${tier}`, `is not a tier (${TIERS.join(', ')})`);
  }
  for (const tier of TIERS) {
    const entry = raw.tiers[tier];
    if (!isObject(entry)) return fail(`tiers.${tier}`, 'is missing');
    const digits = isObject(entry.mrn) ? entry.mrn.digits : undefined;
    if (typeof digits !== 'number' || !Number.isInteger(digits) || digits < 7 || digits > 9) {
      fail(`tiers.${tier}.mrn.digits`, 'must be an integer from 7 to 9');
    }
    if (!isObject(entry.probabilities)) return fail(`tiers.${tier}.probabilities`, 'is missing');
    for (const kind of Object.keys(entry.probabilities)) {
      if (!(ERROR_KINDS as readonly string[]).includes(kind)) {
        fail(`tiers.${tier}.probabilities.${kind}`, 'is not a known error kind');
      }
    }
    for (const kind of ERROR_KINDS) {
      const p = entry.probabilities[kind];
      if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
        fail(`tiers.${tier}.probabilities.${kind}`, 'must be a number between 0 and 1');
      }
    }
  }

  if (!Array.isArray(raw.homophoneGroups)) return fail('homophoneGroups', 'must be a list');
  const seen = new Map<string, string>();
  raw.homophoneGroups.forEach((g: unknown, i) => {
    const where = `homophoneGroups[${i}]`;
    if (!isObject(g) || typeof g.pinyin !== 'string' || !/^[a-z]+$/.test(g.pinyin)) {
      return fail(where, 'must have a toneless lower-case pinyin');
    }
    if (typeof g.chars !== 'string' || [...g.chars].length < 1) return fail(where, 'must have chars');
    for (const ch of g.chars) {
      const other = seen.get(ch);
      if (other !== undefined) fail(where, `repeats ${ch}, already in the group ${other}`);
      seen.set(ch, g.pinyin);
    }
  });

  if (!isObject(raw.variantCharacters)) return fail('variantCharacters', 'must be a mapping');
  for (const [from, to] of Object.entries(raw.variantCharacters)) {
    if ([...from].length !== 1 || typeof to !== 'string' || [...to].length !== 1 || to === from) {
      fail(`variantCharacters.${from}`, 'must map one character to a different single character');
    }
  }
  return raw as unknown as ErrorModel;
}

function isObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
