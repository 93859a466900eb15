import type { Inbox, NewMessage } from '../inbox/types.ts';
import type { Logger } from '../kernel/logger.ts';
import type { IngestQueue } from '../queue/types.ts';
import type { IngestMetrics } from './metrics.ts';

export interface ArchiveParts {
  inbox: Inbox;
  queue: IngestQueue;
  logger: Logger;
  metrics?: IngestMetrics;
}

/**
 * The durability step: commit the message (raw bytes, verdict, mapped Bundle) to PostgreSQL,
 * then enqueue its id. An enqueue that fails after the commit is not an error for the sender:
 * the message is `queued` in PostgreSQL, and the reconciler enqueues it (the answer may be AA).
 */
export async function archiveAndEnqueue(parts: ArchiveParts, message: NewMessage) {
  let stored;
  try {
    stored = await parts.inbox.store(message);
  } catch (err) {
    parts.metrics?.received(message.institution, message.type, 'unavailable');
    throw err;
  }
  const verdict = stored.resend ? 'resend' : stored.message.state === 'failed' ? 'failed' : 'accepted';
  parts.metrics?.received(message.institution, stored.message.type, verdict);
  parts.logger.info(
    {
      messageId: stored.message.id,
      institution: message.institution,
      type: stored.message.type,
      state: stored.message.state,
      resend: stored.resend,
    },
    'inbound message archived',
  );
  if (!stored.resend && stored.message.state === 'queued') {
    try {
      await parts.queue.enqueue(stored.message.id);
    } catch (err) {
      parts.logger.warn(
        { messageId: stored.message.id, err: (err as Error).message },
        'enqueue failed; the reconciler will enqueue it',
      );
    }
  }
  return stored;
}
