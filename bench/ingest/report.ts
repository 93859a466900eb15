/** Printing: the phases, the profile summary and the goals of issue 3 ("Benchmark"). */
import { printTable } from '../support/stats.ts';
import type { PhaseResult } from './phase.ts';
import type { ProfileResult } from './profile-phase.ts';

export function printPhases(phases: PhaseResult[]): void {
  console.log('\nRates and latencies (ms; searchable = archive row `stored`, due time → stored)');
  printTable([
    [
      'phase',
      'msgs',
      'e2e/s',
      'ack/s',
      'ack p50',
      'ack p95',
      'srch p50',
      'srch p95',
      'srch p99',
      'queue p50',
      'queue p95',
      'job p50',
      'job p95',
      'busy %',
      'found',
    ],
    ...phases.map((p) => [
      p.name,
      p.messages,
      p.endToEndRate,
      p.ackRate,
      p.ackMs.p50,
      p.ackMs.p95,
      p.receiveToSearchableMs.p50,
      p.receiveToSearchableMs.p95,
      p.receiveToSearchableMs.p99,
      p.queueWaitMs.p50,
      p.queueWaitMs.p95,
      p.jobRunMs.p50,
      p.jobRunMs.p95,
      p.machineBusyPct,
      `${p.spotCheck.found}/${p.spotCheck.of}`,
    ]),
  ]);
  for (const p of phases)
    for (const miss of p.spotCheck.misses) console.log(`  spot check missed in ${p.name}: ${miss}`);
  const names = [...new Set(phases.flatMap((p) => Object.keys(p.cpuMsPerMessage)))];
  console.log('\nCPU ms per message by process');
  printTable([
    ['phase', ...names],
    ...phases.map((p) => [p.name, ...names.map((k) => p.cpuMsPerMessage[k] ?? 0)]),
  ]);
}

export function printProfile(p: ProfileResult): void {
  console.log(`\nCPU profile during "${p.phase}" (${p.messages} messages): self time by area and function`);
  for (const [name, s] of Object.entries(p.processes)) {
    console.log(
      `\n[${name}] busy ${s.busyMs} ms of ${s.wallMs} ms; ${s.cpuMsPerMessage} ms CPU/msg; queue libs ${s.queueLibPct} %`,
    );
    printTable([
      ['area (native → caller)', 'ms', '%'],
      ...s.callerAreas.slice(0, 12).map((a) => [a.name, a.ms, a.pct]),
    ]);
    printTable([
      ['function (self)', 'ms', '%'],
      ...s.functions.slice(0, 12).map((a) => [a.name.slice(0, 110), a.ms, a.pct]),
    ]);
  }
  console.log(`\nqueue overhead: ${JSON.stringify(p.queueOverhead)}`);
}

export interface GoalRow {
  goal: string;
  target: string;
  measured: string;
  met: boolean;
}

const best = (ps: PhaseResult[], kind: string) =>
  Math.max(
    0,
    ...ps.filter((p) => p.name.startsWith(kind) && p.name.includes('saturation')).map((p) => p.endToEndRate),
  );

export function goalRows(phases: PhaseResult[], profile: ProfileResult | undefined): GoalRow[] {
  const adt = best(phases, 'ADT^A01');
  const oru = best(phases, 'ORU^R01');
  const loaded = phases.filter((p) => 'rate' in p.mode);
  const worst = Math.max(0, ...loaded.map((p) => p.receiveToSearchableMs.p95));
  const rows: GoalRow[] = [
    { goal: 'ADT^A01 end to end', target: '≥ 300 msg/s', measured: `${adt} msg/s`, met: adt >= 300 },
    { goal: 'ORU^R01 end to end', target: '≥ 150 msg/s', measured: `${oru} msg/s`, met: oru >= 150 },
    {
      goal: 'p95 receive→searchable at 80 % load',
      target: '≤ 1000 ms (at 80 % of the goal rates)',
      measured: `${worst} ms worst (at 80 % of measured saturation: ${loaded.map((p) => `${p.name.split(' ')[0]} ${p.name.split(' ')[1]} ${'rate' in p.mode ? p.mode.rate : ''}/s ${p.receiveToSearchableMs.p95}`).join('; ')})`,
      met: worst <= 1000 && adt >= 300 && oru >= 150,
    },
  ];
  if (profile)
    rows.push({
      goal: 'queue overhead',
      target: '≤ 10 % of CPU',
      measured: `${profile.queueOverhead.pct} % (${profile.queueOverhead.totalMsPerMessage} ms/msg)`,
      met: profile.queueOverhead.pct <= 10,
    });
  return rows;
}

export function printGoals(rows: GoalRow[]): void {
  console.log('\nGoals (issue 3, 2-core machine)');
  printTable([
    ['goal', 'target', 'measured', 'met'],
    ...rows.map((r) => [r.goal, r.target, r.measured, r.met ? 'yes' : 'NO']),
  ]);
}
