/**
 * A micro-bench of the structural validator alone: `validateStructure` on every resource the
 * shipped HL7 v2 mapping files make of the bench corpus (ADT^A01 and ORU^R01 alike), nothing else.
 * Run with `node bin/run-ts.mjs bench/mapping/structure-micro.ts` (`BENCH_SIZE=full` for more).
 * Prints resources validated per CPU-second of this process (median of the rounds); it never
 * asserts a timing. The resources are mapped once, before timing: the validator does not
 * change them, so every round sees the same input.
 */
import { loadFhirModel } from '../../src/repository/fhir-model.ts';
import { validateStructure } from '../../src/repository/validation/index.ts';
import { machineFacts } from '../support/machine.ts';
import { fmt, printTable, round } from '../support/stats.ts';
import { buildCorpus } from './corpus.ts';
import { mapAll, parseAll, stageEnv } from './stages.ts';

const FULL = process.env.BENCH_SIZE === 'full';
const PER_KIND = FULL ? 5_000 : 1_500;
const ROUNDS = FULL ? 9 : 5;

const machine = machineFacts();
console.log(
  `Structural validation micro-bench: ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}; load average ${machine.loadAverage1m} at start`,
);

const model = loadFhirModel();
const corpus = buildCorpus({ perKind: PER_KIND, seed: 'bench-mapping', asOf: '2026-11-01' });
const msgs = [...corpus.adt, ...corpus.oru];
const resources: { resource: Record<string, unknown>; pathPrefix: string }[] = [];
for (const bundle of mapAll(stageEnv(), msgs, parseAll(msgs)))
  (bundle.entry ?? []).forEach((e, i) => {
    if (e.resource)
      resources.push({
        resource: e.resource as unknown as Record<string, unknown>,
        pathPrefix: `Bundle.entry[${i}].resource`,
      });
  });

/** One pass over every resource; returns the error count (it must be 0 for a fair figure). */
function pass(): number {
  let errors = 0;
  for (const { resource, pathPrefix } of resources)
    for (const issue of validateStructure(model, resource, { pathPrefix }))
      if (issue.severity === 'error') errors++;
  return errors;
}

const errors = pass(); // warm-up
const cpu: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const before = process.cpuUsage();
  pass();
  const used = process.cpuUsage(before);
  cpu.push((used.user + used.system) / 1e6);
}
const median = cpu.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)]!;
if (errors > 0) console.log(`WARNING: ${errors} validation errors per pass: the figure is flattered`);
printTable([
  ['resources', 'rounds', 'resources/CPU-s', 'CPU µs/resource'],
  [
    fmt(resources.length),
    String(ROUNDS),
    fmt(round(resources.length / median, 0)),
    String(round((median / resources.length) * 1e6, 1)),
  ],
]);
