import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { round } from '../support/stats.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');

export interface SeedResult {
  patients: number;
  observations: number;
  processes: number;
  seconds: number;
  resourcesPerSecond: number;
}

/**
 * Seeds `observations` Observations over `patients` Patients from `processes` seeding processes
 * (index extraction is CPU-bound JavaScript; one Node thread would be the bottleneck), each
 * owning a slice of the patients.
 */
export async function seed(
  url: string,
  patients: number,
  observations: number,
  processes: number,
): Promise<SeedResult> {
  const started = performance.now();
  const jobs = Array.from({ length: processes }, (_, k) => {
    const from = Math.floor((patients * k) / processes);
    const to = Math.floor((patients * (k + 1)) / processes);
    const obs = Math.floor((observations * (k + 1)) / processes) - Math.floor((observations * k) / processes);
    return runWorker({ url, from, to, observations: obs, batch: 1000 });
  });
  await Promise.all(jobs);
  const seconds = (performance.now() - started) / 1000;
  return {
    patients,
    observations,
    processes,
    seconds: round(seconds),
    resourcesPerSecond: round((patients + observations) / seconds, 0),
  };
}

function runWorker(job: Record<string, unknown>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(HERE, 'seed-worker.ts')], {
      cwd: ROOT,
      env: { ...process.env, BENCH_SEED: JSON.stringify(job) },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`seed worker exited with code ${code}`)),
    );
  });
}
