/**
 * Where the HL7 v2 stage spends its time: run under `node --cpu-prof` by
 * `node --cpu-prof --cpu-prof-dir=bench/results/cpu bin/run-ts.mjs bench/mapping/profile.ts [adt|oru]`,
 * then `node bin/run-ts.mjs bench/mapping/profile.ts --summary <file.cpuprofile>` prints the
 * functions with the most self time and the source files they belong to.
 */
import { readFileSync } from 'node:fs';
import { fmt, printTable, round } from '../support/stats.ts';
import { buildCorpus } from './corpus.ts';
import { evaluateAll, stageEnv } from './stages.ts';

interface ProfileNode {
  id: number;
  children?: number[];
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
if (args[0] === '--summary') summarize(args[1]!);
else {
  const kind = args[0] === 'adt' ? 'adt' : 'oru';
  const corpus = buildCorpus({ perKind: 2_000, seed: 'bench-mapping', asOf: '2026-11-01' });
  const env = stageEnv();
  for (let r = 0; r < 4; r++) evaluateAll(env, corpus[kind]);
}

/** Self time by function and by file, counting only samples taken inside `evaluateAll`. */
function summarize(file: string): void {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stackOf = (id: number) => {
    const names: string[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at))
      names.push(byId.get(at)!.callFrame.functionName);
    return names;
  };
  const INCLUSIVE = [
    'parseHl7',
    'mapHl7Message',
    'checkMapped',
    'labelBundle',
    'validateStructure',
    'uuidv7',
  ];
  const self = new Map<string, number>();
  const byFile = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const stack = stackOf(id);
    if (!stack.includes('evaluateAll')) return;
    const dt = p.timeDeltas[i] ?? 0;
    total += dt;
    for (const name of INCLUSIVE)
      if (stack.includes(name)) inclusive.set(name, (inclusive.get(name) ?? 0) + dt);
    const f = byId.get(id)!.callFrame;
    const where = f.url.replace(/^.*\/work\/main\//, '').replace(/^file:\/\//, '');
    const key = `${f.functionName || '(anonymous)'}  ${where}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    const mod = where.includes('node_modules/')
      ? where.replace(/^.*node_modules\/((@[^/]+\/)?[^/]+).*$/, 'node_modules/$1')
      : where || f.functionName;
    byFile.set(mod, (byFile.get(mod) ?? 0) + dt);
  });
  const row = ([name, us]: [string, number]) => [
    name,
    fmt(round(us / 1000, 0)),
    `${round((us / total) * 100, 1)} %`,
  ];
  const top = (m: Map<string, number>, k: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(row);
  console.log(`sampled inside evaluateAll: ${fmt(round(total / 1000, 0))} ms`);
  printTable([['inclusive', 'ms', 'share'], ...top(inclusive, INCLUSIVE.length)]);
  printTable([['function (self time)', 'ms', 'share'], ...top(self, 25)]);
  printTable([['file / package (self time)', 'ms', 'share'], ...top(byFile, 15)]);
}
