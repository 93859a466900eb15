import type { Organization } from 'fhir/r4';
import { canonicalFhirJson } from '../kernel/fhir-json.ts';
import { OperationOutcomeError } from '../kernel/outcomes.ts';
import type { FhirRepository } from '../repository/store/fhir-repository.ts';
import { dependencyOrder } from './dependency-order.ts';
import type { Institution, InstitutionRegistry, Tier } from './types.ts';

/** HL7 organization-type of every member: all of them provide care (the lab too). */
const HL7_ORG_TYPE = 'http://terminology.hl7.org/CodeSystem/organization-type';

const TIER_DISPLAY: Record<Tier, string> = {
  'county-hospital': 'County hospital',
  'township-health-centre': 'Township health centre',
  'community-health-centre': 'Community health service centre',
  'village-clinic': 'Village clinic',
  'shared-centre': 'Shared service centre',
};

/** The Organization an institution is projected to; its id is the institution id. */
export function institutionOrganization(inst: Institution, canonicalBase: string): Organization {
  const org: Organization = {
    resourceType: 'Organization',
    id: inst.id,
    identifier: [{ system: `${canonicalBase}/sid/institution`, value: inst.id }],
    active: inst.active,
    type: [
      {
        coding: [
          {
            system: `${canonicalBase}/CodeSystem/institution-tier`,
            code: inst.tier,
            display: TIER_DISPLAY[inst.tier],
          },
          { system: HL7_ORG_TYPE, code: 'prov', display: 'Healthcare Provider' },
        ],
        text: TIER_DISPLAY[inst.tier],
      },
    ],
    name: inst.name.zh,
    alias: [inst.name.en],
  };
  if (inst.partOf !== undefined) org.partOf = { reference: `Organization/${inst.partOf}` };
  return org;
}

/**
 * Writes `Organization/{id}` for every institution (update-as-create), parents before children
 * since `partOf` must point at an existing resource. An Organization whose content already
 * matches is left alone, so restarts do not pile up versions.
 */
export async function projectOrganizations(
  registry: InstitutionRegistry,
  repo: FhirRepository,
  canonicalBase: string,
): Promise<{ written: string[]; unchanged: string[] }> {
  const result = { written: [] as string[], unchanged: [] as string[] };
  for (const inst of dependencyOrder(await registry.list())) {
    const wanted = institutionOrganization(inst, canonicalBase);
    const written = await writeIfChanged(repo, wanted as unknown as ProjectedResource);
    result[written ? 'written' : 'unchanged'].push(inst.id);
  }
  return result;
}

/** A resource the exchange projects from its own files, under a fixed id. */
export type ProjectedResource = Record<string, unknown> & { resourceType: string; id: string };

/**
 * Writes `resource` under its id (update-as-create) unless the stored current version already
 * has the same content, so projecting the same files again adds no versions. True when written.
 */
export async function writeIfChanged(repo: FhirRepository, resource: ProjectedResource): Promise<boolean> {
  const current = await readIfPresent(repo, resource.resourceType, resource.id);
  if (current && sameContent(withoutMeta(current), resource)) return false;
  await repo.update(resource.resourceType, resource.id, resource);
  return true;
}

async function readIfPresent(
  repo: FhirRepository,
  type: string,
  id: string,
): Promise<Record<string, unknown> | undefined> {
  try {
    const stored = await repo.read(type, id);
    return stored.json === null ? undefined : (JSON.parse(stored.json) as Record<string, unknown>);
  } catch (err) {
    // 404 never written, 410 deleted by someone: both mean "write it".
    if (err instanceof OperationOutcomeError && (err.status === 404 || err.status === 410)) return undefined;
    throw err;
  }
}

function withoutMeta(resource: Record<string, unknown>): Record<string, unknown> {
  const { meta: _meta, ...rest } = resource;
  return rest;
}

/** Deep equality regardless of key order (the store keeps its own order). */
function sameContent(a: unknown, b: unknown): boolean {
  return canonicalFhirJson(a) === canonicalFhirJson(b);
}
