import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * What the gateway counts. Labels are the institution id, the message type and the verdict —
 * never content (names, IDs, phone numbers stay out of labels).
 */
export interface IngestMetrics {
  received(
    institution: string,
    type: string | undefined,
    verdict: 'accepted' | 'failed' | 'resend' | 'unavailable',
  ): void;
}

export function createIngestMetrics(registry: Registry, queueDepth: () => Promise<number>): IngestMetrics {
  const received = new Counter({
    name: 'hie_ingest_messages_total',
    help: 'Inbound messages by institution, type and gateway verdict',
    labelNames: ['institution', 'type', 'verdict'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'hie_queue_depth',
    help: 'Jobs waiting, active or delayed in the ingest queue',
    registers: [registry],
    async collect() {
      try {
        this.set(await queueDepth());
      } catch {
        this.set(-1); // Redis unreachable: visible as -1 rather than a stale number
      }
    },
  });
  return {
    received: (institution, type, verdict) => received.inc({ institution, type: type ?? 'unknown', verdict }),
  };
}
