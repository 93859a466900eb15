/**
 * Code comparison for the rule table. ICD-10 is written `B20.1`, `b20.1` or `B201` depending on
 * the sender; dots and case carry no meaning there, and LOINC, SNOMED and ATC codes contain
 * neither, so one normal form serves every system.
 */
export function normaliseCode(code: string): string {
  return code.trim().toUpperCase().replace(/\./g, '');
}

/** What one `match` entry of a rule accepts within its systems (all already normalised). */
export interface CodeSet {
  codes: ReadonlySet<string>;
  prefixes: readonly string[];
  /** Inclusive [from, to] pairs of three-character ICD-10 categories. */
  ranges: readonly (readonly [string, string])[];
}

export function codeSetMatches(set: CodeSet, normalised: string): boolean {
  if (set.codes.has(normalised)) return true;
  if (set.prefixes.some((p) => normalised.startsWith(p))) return true;
  if (set.ranges.length === 0 || normalised.length < 3) return false;
  // Categories are letter + two digits, so plain string order is category order.
  const category = normalised.slice(0, 3);
  return set.ranges.some(([from, to]) => category >= from && category <= to);
}
