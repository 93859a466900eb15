import iconv from 'iconv-lite';
import type { InstitutionEntry, Tier } from './types.ts';

/** A registry entry that cannot be accepted; `problems` name the field of each fault. */
export class InstitutionValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'InstitutionValidationError';
  }
}

export const INSTITUTION_ID_PATTERN = /^[a-z0-9-]{2,40}$/;

export const TIERS: readonly Tier[] = [
  'county-hospital',
  'township-health-centre',
  'community-health-centre',
  'village-clinic',
  'shared-centre',
];

// Feed names become URL path segments (`/ingest/csv/{feed}`) and mapping file names.
const FORMAT = /^(hl7v2-mllp|hl7v2-http|fhir|(csv|json):[a-z0-9][a-z0-9-]{0,39})$/;
// ±HH:MM within the real range of UTC offsets (-12:00 … +14:00).
const TIMEZONE = /^[+-](0\d|1[0-4]):[0-5]\d$/;
// An MSH-4 value: no HL7 delimiters, since it is compared with the parsed field.
const FACILITY_CODE = /^[^|^~\\&\r\n]{1,180}$/;

const PUBLIC_FIELDS = new Set([
  'id',
  'name',
  'tier',
  'partOf',
  'facilityCodes',
  'formats',
  'timezone',
  'charset',
]);

/**
 * Checks one entry's own fields and returns it in the public shape (fields in a fixed order,
 * nothing else), or the list of problems. `extraFields` are tolerated and left out (an `add`
 * file may carry keys beside the entry). Cross-entry rules live in `checkRegistry`.
 */
export function checkEntry(
  value: unknown,
  where: string,
  extraFields: ReadonlySet<string> = new Set(),
): { entry?: InstitutionEntry; problems: string[] } {
  const problems: string[] = [];
  const bad = (field: string, why: string) => problems.push(`${where}.${field}: ${why}`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { problems: [`${where}: expected an object`] };
  }
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v)) {
    // Unknown fields are refused: a misspelt `facilitycodes` should not pass as "no codes".
    if (!PUBLIC_FIELDS.has(key) && !extraFields.has(key)) bad(key, 'is not a field of an institution');
  }
  const id = v.id;
  if (typeof id !== 'string' || !INSTITUTION_ID_PATTERN.test(id)) {
    bad('id', `must match ${INSTITUTION_ID_PATTERN.source}, got ${show(id)}`);
  }
  const name = v.name as Record<string, unknown> | undefined;
  if (typeof name !== 'object' || name === null || Array.isArray(name)) {
    bad('name', 'must be an object {"zh", "en"}');
  } else {
    for (const lang of ['zh', 'en']) {
      if (typeof name[lang] !== 'string' || (name[lang] as string).trim() === '')
        bad(`name.${lang}`, 'must be a non-empty string');
    }
    for (const key of Object.keys(name))
      if (key !== 'zh' && key !== 'en') bad(`name.${key}`, 'only zh and en are kept');
  }
  if (!(TIERS as readonly unknown[]).includes(v.tier)) {
    bad('tier', `must be one of ${TIERS.join(', ')}, got ${show(v.tier)}`);
  }
  if (v.partOf !== undefined && (typeof v.partOf !== 'string' || !INSTITUTION_ID_PATTERN.test(v.partOf))) {
    bad('partOf', `must be an institution id, got ${show(v.partOf)}`);
  } else if (v.partOf === id) {
    bad('partOf', 'an institution cannot be part of itself');
  }
  const codes = stringList(v.facilityCodes, 'facilityCodes', bad);
  codes?.forEach((c, i) => {
    if (!FACILITY_CODE.test(c)) bad(`facilityCodes[${i}]`, `${show(c)} is not an MSH-4 value`);
  });
  const formats = stringList(v.formats, 'formats', bad);
  // An empty list is allowed: a member that exchanges no records (a disinfection supply centre)
  // is still part of the community, and a new member is registered before its feeds are set up.
  // With no formats it can submit nothing.
  formats?.forEach((f, i) => {
    if (!FORMAT.test(f))
      bad(`formats[${i}]`, `${show(f)} is not one of hl7v2-mllp, hl7v2-http, csv:{feed}, json:{feed}, fhir`);
  });
  if (typeof v.timezone !== 'string' || !TIMEZONE.test(v.timezone)) {
    bad('timezone', `must be an offset like +08:00, got ${show(v.timezone)}`);
  }
  if (typeof v.charset !== 'string' || !iconv.encodingExists(v.charset)) {
    bad('charset', `must be a character set iconv-lite knows (UTF-8, GB18030…), got ${show(v.charset)}`);
  }
  if (problems.length > 0) return { problems };
  const entry: InstitutionEntry = {
    id: id as string,
    name: { zh: name!.zh as string, en: name!.en as string },
    tier: v.tier as Tier,
    facilityCodes: codes!,
    formats: formats!,
    timezone: v.timezone as string,
    charset: v.charset as string,
  };
  if (typeof v.partOf === 'string') entry.partOf = v.partOf;
  return { entry: publicEntry(entry), problems };
}

/**
 * Rules across entries: unique ids, `partOf` naming a known institution without cycles, and a
 * facility code owned by one institution only (MSH-4 decides who sent a message).
 * `existing` are entries already registered that the new ones must fit with.
 */
export function checkRegistry(
  entries: { entry: InstitutionEntry; where: string }[],
  existing: InstitutionEntry[] = [],
): string[] {
  const problems: string[] = [];
  const all = new Map<string, InstitutionEntry>(existing.map((e) => [e.id, e]));
  const codeOwner = new Map<string, string>();
  for (const e of existing) for (const c of e.facilityCodes) codeOwner.set(c, e.id);
  for (const { entry, where } of entries) {
    if (all.has(entry.id)) problems.push(`${where}.id: "${entry.id}" is already registered`);
    all.set(entry.id, entry);
  }
  for (const { entry, where } of entries) {
    entry.facilityCodes.forEach((c, i) => {
      const owner = codeOwner.get(c);
      if (owner !== undefined && owner !== entry.id)
        problems.push(`${where}.facilityCodes[${i}]: "${c}" already belongs to ${owner}`);
      else codeOwner.set(c, entry.id);
    });
    if (entry.partOf !== undefined && !all.has(entry.partOf))
      problems.push(`${where}.partOf: no institution "${entry.partOf}"`);
  }
  for (const { entry, where } of entries) {
    // Walk up the partOf chain; coming back to the start is a cycle.
    const seen = new Set([entry.id]);
    for (let up = entry.partOf; up !== undefined; up = all.get(up)?.partOf) {
      if (seen.has(up)) {
        problems.push(`${where}.partOf: "${entry.id}" is part of itself through ${[...seen].join(' → ')}`);
        break;
      }
      seen.add(up);
    }
  }
  return problems;
}

/** Validates a whole list (a seed file, an `add` file) or throws naming every fault. */
export function validateEntries(
  values: unknown[],
  existing: InstitutionEntry[] = [],
  extraFields?: ReadonlySet<string>,
): InstitutionEntry[] {
  const checked = values.map((v, i) => ({ ...checkEntry(v, `[${i}]`, extraFields), where: `[${i}]` }));
  const problems = checked.flatMap((c) => c.problems);
  if (problems.length > 0) throw new InstitutionValidationError(problems);
  const ok = checked.map((c) => ({ entry: c.entry!, where: c.where }));
  const cross = checkRegistry(ok, existing);
  if (cross.length > 0) throw new InstitutionValidationError(cross);
  return ok.map((c) => c.entry);
}

function stringList(
  value: unknown,
  field: string,
  bad: (field: string, why: string) => void,
): string[] | undefined {
  if (!Array.isArray(value) || value.some((x) => typeof x !== 'string')) {
    bad(field, 'must be an array of strings');
    return undefined;
  }
  if (new Set(value).size !== value.length) bad(field, 'has duplicates');
  return value as string[];
}

/**
 * The public shape of an entry (or of an `Institution`), fields in the CONTRACTS order: jsonb
 * sorts keys its own way, and stored and printed entries should read the same everywhere.
 */
export function publicEntry(e: InstitutionEntry): InstitutionEntry {
  return {
    id: e.id,
    name: { zh: e.name.zh, en: e.name.en },
    tier: e.tier,
    ...(e.partOf !== undefined ? { partOf: e.partOf } : {}),
    facilityCodes: e.facilityCodes,
    formats: e.formats,
    timezone: e.timezone,
    charset: e.charset,
  };
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
