/**
 * The durable queue between gateway and worker. Jobs carry the archive row id only — no
 * patient data in Redis. The job id is the archive id, so enqueueing twice is harmless.
 */
export interface IngestQueue {
  enqueue(messageId: string): Promise<void>;
  /** Waiting + active + delayed jobs (a metric). */
  depth(): Promise<number>;
  close(): Promise<void>;
}
