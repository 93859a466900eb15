import { Counter, Histogram, type Registry } from 'prom-client';

/** What the worker counts: final states by institution and type, and receive → stored latency. */
export interface WorkerMetrics {
  finished(
    institution: string,
    type: string | undefined,
    state: 'stored' | 'failed',
    receivedAt: string,
  ): void;
}

export function createWorkerMetrics(registry: Registry): WorkerMetrics {
  const finished = new Counter({
    name: 'hie_ingest_finished_total',
    help: 'Inbound messages that reached a final state in the worker, by institution, type and state',
    labelNames: ['institution', 'type', 'state'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'hie_ingest_receive_to_stored_seconds',
    help: 'Time from receipt at the gateway to the write in the repository',
    labelNames: ['type'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  return {
    finished(institution, type, state, receivedAt) {
      finished.inc({ institution, type: type ?? 'unknown', state });
      if (state === 'stored')
        latency.observe({ type: type ?? 'unknown' }, (Date.now() - Date.parse(receivedAt)) / 1000);
    },
  };
}
