import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { InstitutionEntry } from '../../institutions/types.ts';

/**
 * The registry and the practitioner directory as the care generator reads them: at run time,
 * from the repository's `registry/` folder, so that the demo follows the registry as it grows.
 */

export type PractitionerRole =
  | 'doctor'
  | 'family-doctor'
  | 'nurse'
  | 'lab-technician'
  | 'radiologist'
  | 'ecg-physician'
  | 'pathologist'
  | 'village-doctor';

export interface DirectoryPractitioner {
  id: string;
  institution: string;
  staffNo: string;
  name: { zh: string; en: string };
  gender: string;
  roles: PractitionerRole[];
  specialty?: string;
  /** The family-doctor team number, for family doctors (and the village doctors on a team). */
  team?: string;
}

export interface DemoDirectory {
  institutions: InstitutionEntry[];
  practitioners: DirectoryPractitioner[];
  institution(id: string): InstitutionEntry | undefined;
  /** Practitioners of one institution with one role, in directory order. */
  staff(institutionId: string, role: PractitionerRole): DirectoryPractitioner[];
}

const REGISTRY_DIR = fileURLToPath(new URL('../../../registry/', import.meta.url));

export function makeDirectory(
  institutions: InstitutionEntry[],
  practitioners: DirectoryPractitioner[],
): DemoDirectory {
  const byId = new Map(institutions.map((i) => [i.id, i]));
  return {
    institutions,
    practitioners,
    institution: (id) => byId.get(id),
    staff: (institutionId, role) =>
      practitioners.filter((p) => p.institution === institutionId && p.roles.includes(role)),
  };
}

/** Reads `registry/institutions.json` and `registry/practitioners.json` (missing: none yet). */
export function loadDirectory(dir: string = REGISTRY_DIR): DemoDirectory {
  const read = <T>(name: string, fallback: T): T => {
    try {
      return JSON.parse(readFileSync(`${dir}/${name}`, 'utf8')) as T;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return fallback;
      throw err;
    }
  };
  return makeDirectory(
    read<InstitutionEntry[]>('institutions.json', []),
    read<DirectoryPractitioner[]>('practitioners.json', []),
  );
}
