import os from 'node:os';

export interface MachineFacts {
  cpus: number;
  cpuModel: string;
  node: string;
  totalMemoryGiB: number;
  platform: string;
  /** 1-minute load average at start: other work on a shared box colours every figure. */
  loadAverage1m: number;
}

export function machineFacts(): MachineFacts {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    node: process.version,
    totalMemoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    loadAverage1m: Math.round((os.loadavg()[0] ?? 0) * 100) / 100,
  };
}

/**
 * Busy share of all cores between two calls: on a 2-core box the app, PostgreSQL and the load
 * generator share the CPU, so a rate means little without knowing how saturated the machine was.
 */
export function cpuMeter(): () => number {
  const snap = () =>
    os.cpus().reduce(
      (acc, c) => {
        const t = c.times;
        acc.idle += t.idle;
        acc.total += t.user + t.nice + t.sys + t.idle + t.irq;
        return acc;
      },
      { idle: 0, total: 0 },
    );
  const start = snap();
  return () => {
    const end = snap();
    const total = end.total - start.total;
    return total > 0 ? Math.round((1 - (end.idle - start.idle) / total) * 1000) / 10 : 0;
  };
}
