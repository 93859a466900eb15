/**
 * `npm run bench`: every benchmark in sequence, each in a process of its own (so one bench's
 * memory, pools and servers cannot colour the next). Quick sizes unless BENCH_SIZE=full.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BENCHES = [
  'bench/repository/run.ts',
  'bench/ingest/run.ts',
  'bench/identity/run.ts',
  'bench/summary/run.ts',
  'bench/mapping/run.ts',
];

const failed: string[] = [];
for (const bench of BENCHES) {
  const started = performance.now();
  console.log(`\n=== ${bench} ===`);
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'run-ts.mjs'), bench], {
      cwd: ROOT,
      stdio: 'inherit',
    });
    child.once('exit', resolve);
  });
  console.log(
    `=== ${bench}: ${code === 0 ? 'done' : `exit code ${code}`} in ${Math.round((performance.now() - started) / 1000)} s ===`,
  );
  if (code !== 0) failed.push(bench);
}
if (failed.length > 0) {
  console.error(`\nbenchmarks that did not finish: ${failed.join(', ')}`);
  process.exitCode = 1;
}
