import type { Practitioner, PractitionerRole } from 'fhir/r4';
import type { FhirRepository } from '../repository/store/fhir-repository.ts';
import { writeIfChanged, type ProjectedResource } from './organizations.ts';
import {
  DEFAULT_PRACTITIONERS_FILE,
  loadPractitioners,
  PRACTITIONER_ROLES,
  type DirectoryPractitioner,
} from './practitioners.ts';
import type { InstitutionRegistry } from './types.ts';

/**
 * The identifier a practitioner is known by at their institution: the same system and value the
 * family-doctor contract mapping references the contracted doctor by (`doctor-{工号}`), so a
 * contract row and the directory meet on one Practitioner.
 */
export function staffIdentifier(p: DirectoryPractitioner, canonicalBase: string) {
  return { system: `${canonicalBase}/sid/source-id/${p.institution}`, value: `doctor-${p.staffNo}` };
}

/** `Practitioner/{id}`: staff identifier, the Chinese name first (and the English one), gender. */
export function directoryPractitioner(p: DirectoryPractitioner, canonicalBase: string): Practitioner {
  return {
    resourceType: 'Practitioner',
    id: p.id,
    identifier: [{ use: 'usual', ...staffIdentifier(p, canonicalBase) }],
    active: true,
    name: [{ use: 'official', text: p.name.zh }, { text: p.name.en }],
    gender: p.gender,
  };
}

/** One `PractitionerRole/{id}-{role}` per role: who, where, what, in which department. */
export function directoryPractitionerRoles(
  p: DirectoryPractitioner,
  canonicalBase: string,
): PractitionerRole[] {
  return p.roles.map((role) => {
    const display = PRACTITIONER_ROLES[role];
    const resource: PractitionerRole = {
      resourceType: 'PractitionerRole',
      id: `${p.id}-${role}`,
      active: true,
      practitioner: { reference: `Practitioner/${p.id}`, display: p.name.zh },
      organization: { reference: `Organization/${p.institution}` },
      code: [
        {
          coding: [{ system: `${canonicalBase}/CodeSystem/practitioner-role`, code: role, display }],
          text: display,
        },
      ],
    };
    if (p.specialty !== undefined) resource.specialty = [{ text: p.specialty }];
    return resource;
  });
}

export interface PractitionerProjection {
  /** Ids of the Practitioner and PractitionerRole resources written (new or changed content). */
  written: string[];
  unchanged: string[];
  /** Practitioners of an institution the registry table does not hold (left out, with why). */
  skipped: { id: string; reason: string }[];
}

/**
 * Writes the directory as `Practitioner` + `PractitionerRole` resources, after the Organizations
 * (a role references its institution's Organization). Content already stored is left alone, so a
 * restart adds no versions. The registry table is authoritative: a practitioner of an institution
 * it does not hold is skipped and reported, not a reason to fail the start.
 */
export async function projectPractitioners(
  registry: InstitutionRegistry,
  repo: FhirRepository,
  canonicalBase: string,
  file: string = DEFAULT_PRACTITIONERS_FILE,
): Promise<PractitionerProjection> {
  const directory = await loadPractitioners(file);
  const registered = new Set((await registry.list()).map((i) => i.id));
  const result: PractitionerProjection = { written: [], unchanged: [], skipped: [] };
  for (const p of directory) {
    if (!registered.has(p.institution)) {
      result.skipped.push({ id: p.id, reason: `institution "${p.institution}" is not registered` });
      continue;
    }
    const resources = [
      directoryPractitioner(p, canonicalBase),
      ...directoryPractitionerRoles(p, canonicalBase),
    ];
    for (const resource of resources) {
      const written = await writeIfChanged(repo, resource as unknown as ProjectedResource);
      result[written ? 'written' : 'unchanged'].push(`${resource.resourceType}/${resource.id}`);
    }
  }
  return result;
}
