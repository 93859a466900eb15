/**
 * Writes the benchmark's store in bulk, straight into the repository's tables: the resources with
 * `writeNewResources` (current row, history row and every search-index row, as a FHIR write
 * leaves them) and each person's identity exactly as the identity stage keeps it — identity_record
 * rows through the bulk loader's `writeBatch`, the golden Patient built by `goldenPatient` (the
 * survivorship rules) with `seealso` links, and `refer` links on the sources. No HTTP, no queue:
 * seeding 10,000 persons takes seconds, not the hours the pipeline would.
 */
import type { Database } from '../../src/db/database.ts';
import { writeBatch, type BulkRecord } from '../../src/identity/bulk/bulk-load.ts';
import type { Patient } from 'fhir/r4';
import { demographicsOf, goldenPatient } from '../../src/identity/golden/golden-patient.ts';
import { matchRecordOf } from '../../src/identity/match/record.ts';
import type { MatchRules } from '../../src/identity/match/rules.ts';
import type { FhirModel } from '../../src/repository/fhir-model.ts';
import { writeNewResources } from '../../src/repository/store/write-version.ts';
import { round } from '../support/stats.ts';
import { populationPerson } from './population.ts';
import { BASE, INSTITUTIONS, type InstitutionKey, type Json } from './shapes.ts';
import type { TargetPerson } from './target-person.ts';

/** One person as the identity stage would leave it. */
interface PersonToWrite {
  goldenId: string;
  patients: { patient: Json; institution: InstitutionKey }[];
  resources: Json[];
}

export interface SeedFigures {
  persons: number;
  sourcePatients: number;
  resources: number;
  seconds: number;
  resourcesPerSecond: number;
}

export interface SeedOptions {
  persons: number;
  asOf: Date;
  seed: number;
  rules: Pick<MatchRules, 'blocking' | 'tierTrust'>;
  /** Persons per transaction. */
  chunk?: number;
  onProgress?: (persons: number) => void;
}

/** The population and the target person; two chunks in flight so Node and PostgreSQL overlap. */
export async function seedStore(
  db: Database,
  model: FhirModel,
  target: TargetPerson,
  opts: SeedOptions,
): Promise<SeedFigures> {
  const started = performance.now();
  const chunk = opts.chunk ?? 250;
  const loadedAt = opts.asOf.toISOString();
  const totals = { persons: 0, sourcePatients: 0, resources: 0 };
  let populationDone = 0;
  const write = async (persons: PersonToWrite[], population: boolean) => {
    const resources: Json[] = [];
    const identity: BulkRecord[] = [];
    for (const p of persons) {
      for (const { patient, institution } of p.patients) {
        const inst = INSTITUTIONS[institution];
        identity.push({
          record: matchRecordOf(patient as Patient, { base: BASE, institution: inst.id }),
          personId: p.goldenId,
          demographics: demographicsOf(patient as Patient),
          institution: inst.id,
          tier: inst.tier,
          sourceUpdated: loadedAt,
        });
      }
      resources.push(
        golden(p, opts.rules.tierTrust, loadedAt),
        ...p.patients.map((x) => x.patient),
        ...p.resources,
      );
    }
    await db.transaction(async (q) => {
      // Sub-batches keep each statement's parameter arrays to a moderate size.
      for (let i = 0; i < resources.length; i += 2000) {
        await writeNewResources(q, model, resources.slice(i, i + 2000));
      }
      await writeBatch(q, identity, opts.rules, loadedAt);
    });
    totals.persons += persons.length;
    totals.sourcePatients += identity.length;
    totals.resources += resources.length;
    if (population) opts.onProgress?.((populationDone += persons.length));
  };

  await write(
    [
      {
        goldenId: target.goldenId,
        patients: target.patients.map((patient) => ({ patient, institution: keyOf(patient) })),
        resources: target.resources,
      },
    ],
    false,
  );
  let next = 0;
  const writer = async () => {
    while (next < opts.persons) {
      const from = next;
      next = Math.min(opts.persons, next + chunk);
      const persons: PersonToWrite[] = [];
      for (let n = from; n < next; n++) persons.push(populationPerson(n, opts.asOf, opts.seed));
      await write(persons, true);
    }
  };
  await Promise.all([writer(), writer()]);
  await db.query('ANALYZE');
  const seconds = (performance.now() - started) / 1000;
  return {
    ...totals,
    seconds: round(seconds),
    resourcesPerSecond: round(totals.resources / seconds, 0),
  };
}

/** The golden Patient the identity stage writes for the person (survivorship over its sources). */
function golden(p: PersonToWrite, tierTrust: Readonly<Record<string, number>>, updated: string): Json {
  return goldenPatient(
    p.goldenId,
    p.patients.map(({ patient, institution }) => ({
      ref: `Patient/${patient.id}`,
      tier: INSTITUTIONS[institution].tier,
      updated,
      demographics: demographicsOf(patient as Patient),
    })),
    tierTrust,
    BASE,
  ) as Json;
}

/** The institution a stamped resource came from (`meta.source`). */
function keyOf(resource: Json): InstitutionKey {
  const id = String(resource.meta.source).slice(`${BASE}/institution/`.length).split('#')[0];
  const key = (Object.keys(INSTITUTIONS) as InstitutionKey[]).find((k) => INSTITUTIONS[k].id === id);
  if (!key) throw new Error(`no bench institution for ${resource.meta.source}`);
  return key;
}
