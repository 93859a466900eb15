/**
 * One seeding process: writes Patients [from, to) and `observations` Observations over them with
 * `writeNewResources` (the repository's bulk path, index rows included) in transactions of `batch`.
 * Two writers overlap so one batch's index extraction (CPU, here) runs while the other's SQL runs.
 * Input: env BENCH_SEED (JSON); output: one JSON line with the counts.
 */
import { Database } from '../../src/db/database.ts';
import { uuidv7 } from '../../src/kernel/ids.ts';
import { loadFhirModel } from '../../src/repository/fhir-model.ts';
import { writeNewResources } from '../../src/repository/store/write-version.ts';
import { observation, patient, prng } from './seed-data.ts';

interface SeedJob {
  url: string;
  from: number;
  to: number;
  observations: number;
  batch: number;
}

const job = JSON.parse(process.env.BENCH_SEED ?? '') as SeedJob;
const model = loadFhirModel();
const db = new Database(job.url, { max: 2, applicationName: 'county-hie-bench-seed' });
const rnd = prng(job.from + 1);
const started = performance.now();

const patientIds: string[] = [];
const patients: Record<string, any>[] = [];
for (let n = job.from; n < job.to; n++) {
  const id = uuidv7();
  patientIds.push(id);
  patients.push(patient(n, id, rnd));
}

let written = 0;
const nextBatch = (): Record<string, any>[] | undefined => {
  if (patients.length > 0) return patients.splice(0, job.batch);
  if (written >= job.observations) return undefined;
  const size = Math.min(job.batch, job.observations - written);
  written += size;
  // Observations of all patients interleave in time, as results arrive in a real county.
  return Array.from({ length: size }, () =>
    observation(uuidv7(), patientIds[Math.floor(rnd() * patientIds.length)]!, rnd),
  );
};
const writer = async () => {
  for (let batch = nextBatch(); batch; batch = nextBatch()) {
    const resources = batch;
    await db.transaction((q) => writeNewResources(q, model, resources));
  }
};
await Promise.all([writer(), writer()]);
await db.close();
process.stdout.write(
  JSON.stringify({
    patients: job.to - job.from,
    observations: job.observations,
    ms: performance.now() - started,
  }) + '\n',
);
