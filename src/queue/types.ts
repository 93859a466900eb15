/**
 * The durable queue between gateway and worker. Jobs carry the archive row id only — no
 * patient data in Redis. The job id is the archive id, so enqueueing twice is harmless.
 */
export interface IngestQueue {
  enqueue(messageId: string): Promise<void>;
  /**
   * Makes sure a job is waiting even when a finished job still holds the id (BullMQ ignores
   * `add` for an id it keeps): replay and the reconciler use this.
   */
  requeue(messageId: string): Promise<'added' | 'revived' | 'present'>;
  /** Waiting + active + delayed jobs (a metric). */
  depth(): Promise<number>;
  close(): Promise<void>;
}
