import { createHash } from 'node:crypto';
import type { OperationOutcome } from 'fhir/r4';
import { isConnectionError } from '../db/database.ts';
import type { IssueInput } from '../kernel/outcomes.ts';
import type { InboundMessage, MessageFormat } from '../inbox/types.ts';
import { uuidv7 } from '../kernel/ids.ts';
import { archiveAndEnqueue, type ArchiveParts } from './archive.ts';
import type { Submission } from './types.ts';

export interface RefusedBody {
  /** Why no stage could read it, as the sender is answered. */
  outcome: OperationOutcome;
  /** Defaults to the SHA-256 of `raw`; for a truncated body, that of the whole body as received. */
  controlId?: string;
  /** e.g. `truncated` when `raw` is only the start of the body. */
  flags?: string[];
  /** The message type, when its header could be read. */
  type?: string;
}

/** The refusal of a body or message over HIE_MAX_BODY_BYTES, as HTTP (413) and MLLP (AR) give it. */
export function tooLarge(what: 'body' | 'message', size: number, limit: number): IssueInput {
  return {
    code: 'too-costly',
    diagnostics:
      `The ${what} (${size} bytes) is larger than this server accepts ` +
      `(${limit} bytes, HIE_MAX_BODY_BYTES); send it in smaller parts`,
    hieCode: 'HIE-HTTP-001',
  };
}

/**
 * A body the edge refused before any stage could read it (empty, or over HIE_MAX_BODY_BYTES) is
 * kept all the same, as a failed message: the sender and IT staff find it in the failed list
 * with its reason, like every other bad input. The same body sent again is a re-send of that row.
 * Returns undefined when the archive cannot be reached: the refusal is answered regardless.
 */
export async function keepRefused(
  parts: ArchiveParts,
  sub: Submission,
  format: MessageFormat,
  refused: RefusedBody,
): Promise<InboundMessage | undefined> {
  try {
    const { message } = await archiveAndEnqueue(parts, {
      id: uuidv7(),
      institution: sub.institution.id,
      format,
      ...(sub.feed ? { feed: sub.feed } : {}),
      transport: sub.transport,
      ...(refused.type ? { type: refused.type } : {}),
      controlId: refused.controlId ?? createHash('sha256').update(sub.raw).digest('hex'),
      raw: sub.raw,
      state: 'failed',
      outcome: refused.outcome,
      ...(refused.flags?.length ? { flags: refused.flags } : {}),
    });
    return message;
  } catch (err) {
    if (!isConnectionError(err)) throw err;
    parts.logger.warn({ err: (err as Error).message }, 'inbound archive unavailable; refused body not kept');
    return undefined;
  }
}
