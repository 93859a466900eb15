import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { InstitutionEntry } from '../../institutions/types.ts';

/**
 * The registry and the practitioner directory as the care generator reads them: at run time,
 * from the repository's `registry/` folder, so that the demo follows the registry as it grows.
 */

// The directory's shape is the registry's own (src/institutions/practitioners.ts).
import type {
  DirectoryPractitioner,
  PractitionerRoleCode as PractitionerRole,
} from '../../institutions/practitioners.ts';
export type { DirectoryPractitioner, PractitionerRole };

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
