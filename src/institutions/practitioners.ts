import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { INSTITUTION_ID_PATTERN } from './validate-entry.ts';

/**
 * The practitioner directory (`registry/practitioners.json`): the people who work at the member
 * institutions and what they do there. Unlike the institutions it seeds no table — the file is
 * the directory; it is projected to `Practitioner` + `PractitionerRole` resources at start, and
 * the demo's care generator and `hie token clinician` read it directly.
 */
export type PractitionerRoleCode =
  | 'doctor'
  | 'family-doctor'
  | 'nurse'
  | 'lab-technician'
  | 'radiologist'
  | 'ecg-physician'
  | 'pathologist'
  | 'village-doctor';

/** The role codes of `{base}/CodeSystem/practitioner-role`, with their Chinese display. */
export const PRACTITIONER_ROLES: Readonly<Record<PractitionerRoleCode, string>> = {
  doctor: '医师',
  'family-doctor': '家庭医生',
  nurse: '护士',
  'lab-technician': '检验技师',
  radiologist: '影像科医师',
  'ecg-physician': '心电图医师',
  pathologist: '病理科医师',
  'village-doctor': '乡村医生',
};

/** Roles that examine, diagnose or treat: the default `hie token clinician` practitioner holds one. */
const PHYSICIAN_ROLES: ReadonlySet<PractitionerRoleCode> = new Set([
  'doctor',
  'family-doctor',
  'village-doctor',
  'radiologist',
  'ecg-physician',
  'pathologist',
]);

export interface DirectoryPractitioner {
  /** `^[a-z0-9-]{2,64}$`; the Practitioner's logical id. */
  id: string;
  /** The institution id (registry) the practitioner works at. */
  institution: string;
  /** The staff number (工号) within the institution; the identifier value is `doctor-{staffNo}`. */
  staffNo: string;
  name: { zh: string; en: string };
  gender: 'male' | 'female';
  /** At least one; one PractitionerRole each. */
  roles: PractitionerRoleCode[];
  /** Department or discipline, in Chinese (心内科, 全科医学科). */
  specialty?: string;
  /** The family-doctor team number (团队编号) the practitioner belongs to. */
  team?: string;
}

/** A directory that cannot be accepted; `problems` name the entry and field of each fault. */
export class PractitionerDirectoryError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'PractitionerDirectoryError';
  }
}

/** The directory shipped with the project. */
export const DEFAULT_PRACTITIONERS_FILE = fileURLToPath(
  new URL('../../registry/practitioners.json', import.meta.url),
);

export const PRACTITIONER_ID_PATTERN = /^[a-z0-9-]{2,64}$/;
// The staff number ends up in an identifier value and in search URLs (`identifier=…|doctor-D017`).
const STAFF_NO = /^[A-Za-z0-9][A-Za-z0-9-]{0,31}$/;
const FIELDS = new Set(['id', 'institution', 'staffNo', 'name', 'gender', 'roles', 'specialty', 'team']);
// A PractitionerRole id is `{id}-{role}` and must stay a FHIR id (at most 64 characters).
const MAX_FHIR_ID = 64;

/**
 * Checks a parsed directory file and returns its entries (fields in a fixed order), or throws
 * naming every fault as `[index] id.field: why`. `institutions`, when given, are the registry
 * ids every practitioner's institution must be one of.
 */
export function validatePractitioners(
  values: unknown,
  institutions?: ReadonlySet<string>,
): DirectoryPractitioner[] {
  if (!Array.isArray(values)) throw new PractitionerDirectoryError(['expected a JSON array']);
  const problems: string[] = [];
  const out: DirectoryPractitioner[] = [];
  const ids = new Map<string, number>();
  const staff = new Map<string, number>();
  values.forEach((value, i) => {
    const where = `[${i}]${typeof (value as { id?: unknown })?.id === 'string' ? ` ${(value as { id: string }).id}` : ''}`;
    const entry = checkPractitioner(value, where, institutions, problems);
    if (!entry) return;
    const sameId = ids.get(entry.id);
    if (sameId !== undefined)
      problems.push(`${where}.id: "${entry.id}" is already used by entry [${sameId}]`);
    ids.set(entry.id, i);
    // One staff number names one person within an institution: the contract mapping keys on it.
    const staffKey = `${entry.institution}|${entry.staffNo}`;
    const sameStaff = staff.get(staffKey);
    if (sameStaff !== undefined)
      problems.push(
        `${where}.staffNo: "${entry.staffNo}" is already used at ${entry.institution} by entry [${sameStaff}]`,
      );
    staff.set(staffKey, i);
    out.push(entry);
  });
  if (problems.length > 0) throw new PractitionerDirectoryError(problems);
  return out;
}

function checkPractitioner(
  value: unknown,
  where: string,
  institutions: ReadonlySet<string> | undefined,
  problems: string[],
): DirectoryPractitioner | undefined {
  const before = problems.length;
  const bad = (field: string, why: string) => problems.push(`${where}.${field}: ${why}`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(`${where}: expected an object`);
    return undefined;
  }
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v)) if (!FIELDS.has(key)) bad(key, 'is not a field of a practitioner');
  if (typeof v.id !== 'string' || !PRACTITIONER_ID_PATTERN.test(v.id))
    bad('id', `must match ${PRACTITIONER_ID_PATTERN.source}, got ${show(v.id)}`);
  if (typeof v.institution !== 'string' || !INSTITUTION_ID_PATTERN.test(v.institution))
    bad('institution', `must be an institution id, got ${show(v.institution)}`);
  else if (institutions && !institutions.has(v.institution))
    bad('institution', `no institution "${v.institution}" in the registry`);
  if (typeof v.staffNo !== 'string' || !STAFF_NO.test(v.staffNo))
    bad('staffNo', `must match ${STAFF_NO.source}, got ${show(v.staffNo)}`);
  const name = v.name as Record<string, unknown> | undefined;
  if (typeof name !== 'object' || name === null || Array.isArray(name)) {
    bad('name', 'must be an object {"zh", "en"}');
  } else {
    for (const lang of ['zh', 'en'])
      if (typeof name[lang] !== 'string' || (name[lang] as string).trim() === '')
        bad(`name.${lang}`, 'must be a non-empty string');
    for (const key of Object.keys(name))
      if (key !== 'zh' && key !== 'en') bad(`name.${key}`, 'only zh and en are kept');
  }
  if (v.gender !== 'male' && v.gender !== 'female')
    bad('gender', `must be male or female, got ${show(v.gender)}`);
  if (!Array.isArray(v.roles) || v.roles.length === 0) {
    bad('roles', 'must be a non-empty array of role codes');
  } else {
    v.roles.forEach((r, j) => {
      if (typeof r !== 'string' || !Object.hasOwn(PRACTITIONER_ROLES, r))
        bad(`roles[${j}]`, `must be one of ${Object.keys(PRACTITIONER_ROLES).join(', ')}, got ${show(r)}`);
      else if (typeof v.id === 'string' && `${v.id}-${r}`.length > MAX_FHIR_ID)
        bad(`roles[${j}]`, `the PractitionerRole id "${v.id}-${r}" is longer than ${MAX_FHIR_ID} characters`);
    });
    if (new Set(v.roles).size !== v.roles.length) bad('roles', 'has duplicates');
  }
  for (const field of ['specialty', 'team'] as const)
    if (v[field] !== undefined && (typeof v[field] !== 'string' || (v[field] as string).trim() === ''))
      bad(field, `must be a non-empty string when present, got ${show(v[field])}`);
  if (problems.length > before) return undefined;
  return {
    id: v.id as string,
    institution: v.institution as string,
    staffNo: v.staffNo as string,
    name: { zh: name!.zh as string, en: name!.en as string },
    gender: v.gender as 'male' | 'female',
    roles: v.roles as PractitionerRoleCode[],
    ...(typeof v.specialty === 'string' ? { specialty: v.specialty } : {}),
    ...(typeof v.team === 'string' ? { team: v.team } : {}),
  };
}

/** Reads and validates a directory file; faults are prefixed with the file's path. */
export async function loadPractitioners(
  file: string = DEFAULT_PRACTITIONERS_FILE,
  institutions?: ReadonlySet<string>,
): Promise<DirectoryPractitioner[]> {
  let content: unknown;
  try {
    content = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new PractitionerDirectoryError([`${file}: ${(err as Error).message}`]);
  }
  try {
    return validatePractitioners(content, institutions);
  } catch (err) {
    if (err instanceof PractitionerDirectoryError)
      throw new PractitionerDirectoryError(
        err.problems.map((p) => `${file}${p.startsWith('[') ? '' : ': '}${p}`),
      );
    throw err;
  }
}

/** The directory's practitioners at one institution, in file order. */
export function practitionersOf(
  directory: readonly DirectoryPractitioner[],
  institution: string,
): DirectoryPractitioner[] {
  return directory.filter((p) => p.institution === institution);
}

/**
 * The practitioner a clinician token stands for when none is named: the first, in file order,
 * who holds a physician role at the institution (else its first practitioner) — deterministic,
 * so the same command gives the same `fhirUser` every time. Undefined when it has none.
 */
export function defaultClinician(
  directory: readonly DirectoryPractitioner[],
  institution: string,
): DirectoryPractitioner | undefined {
  const here = practitionersOf(directory, institution);
  return here.find((p) => p.roles.some((r) => PHYSICIAN_ROLES.has(r))) ?? here[0];
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
