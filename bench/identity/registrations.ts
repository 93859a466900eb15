/**
 * Who registers whom in the identity benchmark: each resident at the institutions they would use,
 * each registration with its tier's error model, turned into the MatchRecord the linker would
 * build from the FHIR Patient the institution sends.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Patient } from 'fhir/r4';
import {
  LEAD_HOSPITAL,
  MCH_HOSPITAL,
  SHARED_CENTRES,
  TCM_HOSPITAL,
  TOWNSHIPS,
} from '../../src/demo/county.ts';
import { registrationFor, seededRandom, type ErrorModel } from '../../src/demo/population/index.ts';
import type { PopulationOptions } from '../../src/demo/population/index.ts';
import type { Registration, Resident } from '../../src/demo/types.ts';
import { patientResource } from '../../src/demo/writers/feeds/fhir-resources.ts';
import { demographicsOf } from '../../src/identity/golden/golden-patient.ts';
import type { BulkRecord } from '../../src/identity/bulk/bulk-load.ts';
import { matchRecordOf } from '../../src/identity/match/record.ts';
import type { Tier } from '../../src/institutions/types.ts';

export const BASE = 'https://county-hie.org/fhir';

const REGISTRY = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../registry/institutions.json',
);
const TIERS: ReadonlyMap<string, Tier> = new Map(
  (JSON.parse(readFileSync(REGISTRY, 'utf8')) as { id: string; tier: Tier }[]).map((i) => [i.id, i.tier]),
);

export function tierOf(institution: string): Tier {
  const tier = TIERS.get(institution);
  if (!tier) throw new Error(`${institution} is not in registry/institutions.json`);
  return tier;
}

const ageOn = (birthDate: string, asOf: string) => Number(asOf.slice(0, 4)) - Number(birthDate.slice(0, 4));

/**
 * The institutions a resident is registered at. Everyone at their village clinic (when the
 * village has one) and their township / community health centre (the family-doctor contract);
 * a share at the county hospital, the shared lab (tests ordered from the townships too), the TCM
 * hospital, and the MCH hospital for children and women of child-bearing age. Drawn from a stream
 * keyed by the person, so the set does not depend on the population size or order.
 */
export function institutionsOf(seed: string, asOf: string, r: Resident): string[] {
  const rng = seededRandom(seed, 'bench-identity-institutions', r.personId);
  const township = TOWNSHIPS.find((t) => t.id === r.address.townshipId);
  const village = township?.villages.find((v) => v.id === r.address.villageId);
  const out: string[] = [];
  if (village?.clinic) out.push(village.clinic);
  if (township) out.push(township.healthCentre);
  if (rng.chance(0.5)) out.push(LEAD_HOSPITAL);
  if (rng.chance(0.3)) out.push(SHARED_CENTRES.lab);
  if (rng.chance(0.1)) out.push(TCM_HOSPITAL);
  const age = ageOn(r.birthDate, asOf);
  const mchAge = age < 7 || (r.sex === 'female' && age >= 18 && age <= 45);
  if (mchAge && rng.chance(0.5)) out.push(MCH_HOSPITAL);
  if (out.length === 0) out.push(LEAD_HOSPITAL);
  return out;
}

/** A registration as the matcher meets it, with the truth kept beside it for scoring. */
export interface BenchRecord {
  bulk: BulkRecord;
  registration: Registration;
}

/**
 * The resident as `institution` has them on file, as a FHIR Patient (the demo FHIR writer's shape:
 * MRN, national ID, insurance, name text, phone, address text) and then as a MatchRecord. The
 * record id is the institution and its MRN: nothing of the ground truth reaches the matcher.
 */
export function benchRecord(
  pop: { options: PopulationOptions; errorModel?: ErrorModel },
  resident: Resident,
  institution: string,
): BenchRecord {
  const tier = tierOf(institution);
  const registration = registrationFor(pop, resident, institution, tier);
  const id = `${institution}.${registration.mrn}`;
  const patient = patientResource(registration, {
    base: BASE,
    institutionId: institution,
    patientId: id,
  }) as unknown as Patient;
  const record = matchRecordOf(patient, { base: BASE, institution });
  return {
    registration,
    bulk: {
      record,
      personId: resident.personId,
      demographics: demographicsOf(patient),
      institution,
      tier,
    },
  };
}

/** A deterministic Fisher–Yates shuffle from a named stream. */
export function shuffled<T>(items: readonly T[], ...keys: string[]): T[] {
  const rng = seededRandom(...keys);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
