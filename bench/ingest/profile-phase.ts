/**
 * CPU profiles of every child (inspector Session, 0.5 ms sampling) while a phase runs, summarised
 * by area and function, and the queue's share of all CPU: BullMQ/ioredis self time in the
 * gateway and the worker plus the Redis server's CPU, over everything the phase burnt.
 */
import path from 'node:path';
import { round } from '../support/stats.ts';
import type { PhaseResult, System } from './phase.ts';
import { type ProfileSummary, shareOf, summarizeProfile } from './profile-summary.ts';

const QUEUE_LIBS =
  /^lib (bullmq|ioredis|@ioredis\/commands|msgpackr|cluster-key-slot|denque|standard-as-callback|redis-errors|redis-parser)$/;

export interface ProfileResult {
  phase: string;
  messages: number;
  processes: Record<string, ProfileSummary & { queueLibPct: number; cpuMsPerMessage: number }>;
  queueOverhead: {
    /** CPU ms per message in BullMQ/ioredis code (gateway + worker) and in the Redis server. */
    libsMsPerMessage: number;
    redisMsPerMessage: number;
    totalMsPerMessage: number;
    /** Queue CPU over all CPU of the phase (children + PostgreSQL + Redis), percent. */
    pct: number;
  };
}

export async function profileWritePath(
  sys: System,
  dir: string,
  run: () => Promise<PhaseResult>,
): Promise<ProfileResult> {
  await Promise.all(sys.children.map((c) => c.call('profile-start')));
  let r: PhaseResult;
  try {
    r = await run();
  } finally {
    await Promise.all(
      sys.children.map((c) => c.call('profile-stop', path.join(dir, `${c.name}.cpuprofile`))),
    );
  }
  const processes: ProfileResult['processes'] = {};
  let libs = 0;
  for (const c of sys.children) {
    const s = await summarizeProfile(path.join(dir, `${c.name}.cpuprofile`));
    const cpu = r.cpuMsPerMessage[c.name] ?? 0;
    const queueLibPct = shareOf(s, QUEUE_LIBS);
    libs += (cpu * queueLibPct) / 100;
    processes[c.name] = {
      ...s,
      areas: s.areas.slice(0, 15),
      callerAreas: s.callerAreas.slice(0, 15),
      queueLibPct,
      cpuMsPerMessage: cpu,
    };
  }
  const redis = r.cpuMsPerMessage.redis ?? 0;
  const all = Object.values(r.cpuMsPerMessage).reduce((a, b) => a + b, 0);
  return {
    phase: r.name,
    messages: r.messages,
    processes,
    queueOverhead: {
      libsMsPerMessage: round(libs, 3),
      redisMsPerMessage: round(redis, 3),
      totalMsPerMessage: round(libs + redis, 3),
      pct: all > 0 ? round(((libs + redis) / all) * 100, 1) : 0,
    },
  };
}
