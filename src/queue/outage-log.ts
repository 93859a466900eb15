import type { Logger } from '../kernel/logger.ts';

export interface OutageLog {
  /** A job waits for storage (PostgreSQL or the repository away). */
  waiting(fields: Record<string, unknown>): void;
  /** A job wrote: if storage had been away, that is over. */
  recovered(): void;
}

/**
 * Logs an outage, not every wait in it: each waiting job retries once a second, so a line per
 * wait would be `concurrency` lines a second for as long as storage stays away. One line when it
 * goes, one every `everyMs` while it stays away (with how many waits there were), one when a
 * write succeeds again.
 */
export function outageLog(logger: Logger, everyMs = 30_000, now: () => number = Date.now): OutageLog {
  let since: number | undefined;
  let lastLine = 0;
  let waits = 0;
  return {
    waiting(fields) {
      const t = now();
      waits++;
      if (since === undefined) {
        since = lastLine = t;
        waits = 0;
        logger.warn(fields, 'storage unavailable: jobs wait without spending attempts');
      } else if (t - lastLine >= everyMs) {
        logger.warn({ ...fields, waits, forMs: t - since }, 'storage still unavailable: jobs wait');
        lastLine = t;
        waits = 0;
      }
    },
    recovered() {
      if (since === undefined) return;
      logger.info({ forMs: now() - since }, 'storage available again');
      since = undefined;
    },
  };
}
