import type { Bundle, OperationOutcome } from 'fhir/r4';

/**
 * The inbound archive (ARCHITECTURE.md "Durability rule"): every message is stored here, raw
 * bytes first, before it is acknowledged. Below both the edge (gateway) and the worker.
 *
 * States: `queued` (accepted, mapped, waiting for the worker) → `stored` (written to the
 * repository); `failed` (mapping/validation/permanent write error; kept and replayable);
 * `duplicate` is never a state of its own — a re-send returns the original row.
 */
export type MessageState = 'queued' | 'stored' | 'failed';

export type MessageFormat = 'hl7v2' | 'fhir' | 'fhir-message' | 'csv' | 'json';
export type Transport = 'http' | 'mllp' | 'upload' | 'replay';

/** A resource the worker wrote for a message. */
export interface WrittenRef {
  /** `Patient/0193…` */
  reference: string;
  versionId?: string;
  /** The transaction-response status, e.g. `201 Created`, or `skipped: newer version stored`. */
  status: string;
}

export interface InboundMessage {
  /** UUIDv7; also the BullMQ job id and the `#fragment` of `meta.source`. */
  id: string;
  institution: string;
  format: MessageFormat;
  /** CSV/JSON feed name; undefined otherwise. */
  feed?: string;
  transport: Transport;
  /** `ADT^A01`, `ORU^R01`, `Bundle/transaction`, `csv:{feed}` … */
  type?: string;
  /** MSH-10, Bundle.identifier, or SHA-256 of the canonical content when there is none. */
  controlId: string;
  /** SHA-256 hex of the raw bytes. */
  contentHash: string;
  raw: Buffer;
  /** The charset the raw bytes were decoded with. */
  charset?: string;
  receivedAt: string;
  state: MessageState;
  /** The gateway's or the worker's verdict (errors with expressions / segment positions). */
  outcome?: OperationOutcome;
  /** The mapped transaction Bundle the worker will write (absent when mapping failed). */
  bundle?: Bundle;
  /** Source event time (ordering key, CONTRACTS.md "Inbound answers"). */
  eventTime?: string;
  /** e.g. `control-id-reused`. */
  flags: string[];
  written?: WrittenRef[];
  /** Worker attempts so far. */
  attempts: number;
  updatedAt: string;
}

export interface NewMessage {
  id: string;
  institution: string;
  format: MessageFormat;
  feed?: string;
  transport: Transport;
  type?: string;
  controlId: string;
  raw: Buffer;
  charset?: string;
  state: Extract<MessageState, 'queued' | 'failed'>;
  outcome?: OperationOutcome;
  bundle?: Bundle;
  eventTime?: string;
  /** e.g. `truncated`: only the start of a body over the size limit was kept. */
  flags?: string[];
}

export interface MessageFilter {
  state?: MessageState;
  institution?: string;
  type?: string;
  controlId?: string;
  feed?: string;
  /** ISO instant: received at or after. */
  since?: string;
  /** Page size, default 50, at most 500. */
  count?: number;
  /** Opaque cursor from a previous page's `next`. */
  cursor?: string;
}

export interface Inbox {
  /**
   * Stores a message in one transaction. A re-send (same institution, control id and content
   * hash) stores nothing and returns the original with `resend: true`; the same control id
   * with different content is stored as new and flagged `control-id-reused`.
   */
  store(message: NewMessage): Promise<{ message: InboundMessage; resend: boolean }>;
  get(id: string): Promise<InboundMessage | undefined>;
  /** Newest first. */
  list(filter: MessageFilter): Promise<{ items: InboundMessage[]; next?: string }>;
  markStored(id: string, written: WrittenRef[], outcome?: OperationOutcome): Promise<void>;
  markFailed(id: string, outcome: OperationOutcome): Promise<void>;
  /**
   * The worker's read: a `queued` message with its attempt counted, in one statement (one round
   * trip and one commit less per message); undefined when it is gone or no longer queued.
   */
  claim(id: string): Promise<InboundMessage | undefined>;
  /** Gives back the attempt a claim counted, when the try failed for an outage, not the message. */
  releaseAttempt?(id: string): Promise<void>;
  /** Counts a worker attempt (before writing), so poison messages can be recognised. */
  countAttempt(id: string): Promise<number>;
  /** Replay: a new verdict from re-running the gateway stages on the raw bytes. */
  replace(
    id: string,
    verdict: {
      state: 'queued' | 'failed';
      outcome?: OperationOutcome;
      bundle?: Bundle;
      type?: string;
      eventTime?: string;
    },
  ): Promise<void>;
  /** Ids in state `queued` last changed before `olderThan` (the reconciler re-enqueues them). */
  pendingIds(olderThan: Date, limit: number): Promise<string[]>;
}
