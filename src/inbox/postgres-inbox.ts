import { createHash } from 'node:crypto';
import type { Bundle, OperationOutcome } from 'fhir/r4';
import type { Database } from '../db/database.ts';
import { stringifyFhirJson } from '../kernel/fhir-json.ts';
import {
  MESSAGE_COLUMNS,
  MESSAGE_COLUMNS_WITH_BUNDLE,
  MESSAGE_COLUMNS_WITHOUT_CONTENT,
  type MessageRow,
  decodeCursor,
  encodeCursor,
  idLowerBound,
  rowToMessage,
} from './message-row.ts';
import type { Inbox, InboundMessage, MessageFilter, NewMessage, WrittenRef } from './types.ts';

export const CONTROL_ID_REUSED = 'control-id-reused';
/** Only the start of the body was kept (it was over HIE_MAX_BODY_BYTES); it cannot be replayed. */
export const TRUNCATED = 'truncated';
/** How much of a body over the size limit is kept (HTTP and MLLP), for the sender and IT staff to recognise it. */
export const TRUNCATED_HEAD_BYTES = 64 * 1024;

/** A sender's clock and ours may differ a little; the id bound of `since` leaves this much room. */
const ID_SKEW_MS = 60_000;

/**
 * The inbound archive on PostgreSQL (table `inbound_message`, migration 003).
 *
 * Re-send detection rests on two unique indexes: (institution, control id, content hash) — a
 * re-send is the row already there — and (institution, control id) over the rows not flagged
 * `control-id-reused` (migration 013) — the first message under a control id. A new message is
 * stored in one statement; only a used control id costs more (is it a re-send or a reuse?).
 * Two identical messages arriving in parallel make one row: the second insert waits for the
 * first and yields to it, and its caller gets the stored row back as a re-send.
 */
export class PostgresInbox implements Inbox {
  constructor(private readonly db: Database) {}

  async store(message: NewMessage): Promise<{ message: InboundMessage; resend: boolean }> {
    const contentHash = createHash('sha256').update(message.raw).digest('hex');
    const first = await this.insert(message, contentHash, message.flags ?? []);
    if (first) return { message: first, resend: false };
    // The control id is taken: by this very content (a re-send), or by another message (a reuse).
    // Each statement runs on a snapshot taken after the insert above gave way, so it sees the row.
    const original = await this.find(message, contentHash);
    if (original) return { message: original, resend: true };
    const reuse = await this.insert(message, contentHash, [...(message.flags ?? []), CONTROL_ID_REUSED]);
    if (reuse) return { message: reuse, resend: false };
    // The same content arrived meanwhile under the reused control id: that row is the original.
    const raced = await this.find(message, contentHash);
    if (raced) return { message: raced, resend: true };
    throw new Error(`The archive refused message ${message.id} and holds no row it yielded to`);
  }

  /** The row, or undefined when a unique index says the message is not the first of its kind. */
  private async insert(
    message: NewMessage,
    contentHash: string,
    flags: string[],
  ): Promise<InboundMessage | undefined> {
    const { rows } = await this.db.query<MessageRow>(
      `INSERT INTO inbound_message
         (id, institution, format, feed, transport, type, control_id, content_hash, raw, charset,
          state, outcome, bundle, event_time, flags)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::json, $14, $15)
       ON CONFLICT DO NOTHING
       RETURNING ${MESSAGE_COLUMNS_WITHOUT_CONTENT}`,
      [
        message.id,
        message.institution,
        message.format,
        message.feed ?? null,
        message.transport,
        message.type ?? null,
        message.controlId,
        contentHash,
        message.raw,
        message.charset ?? null,
        message.state,
        message.outcome ?? null,
        bundleText(message.bundle),
        message.eventTime ?? null,
        flags,
      ],
    );
    if (!rows[0]) return undefined;
    // The raw bytes and the Bundle are what was just written: not sent back, nor parsed again.
    const stored = rowToMessage({ ...rows[0], raw: message.raw });
    if (message.bundle) stored.bundle = message.bundle;
    return stored;
  }

  /** The stored message with this content under this control id (a re-send's original). */
  private async find(message: NewMessage, contentHash: string): Promise<InboundMessage | undefined> {
    const { rows } = await this.db.query<MessageRow>(
      `SELECT ${MESSAGE_COLUMNS_WITH_BUNDLE} FROM inbound_message
        WHERE institution = $1 AND control_id = $2 AND content_hash = $3`,
      [message.institution, message.controlId, contentHash],
    );
    return rows[0] && rowToMessage(rows[0]);
  }

  async get(id: string): Promise<InboundMessage | undefined> {
    const { rows } = await this.db.query<MessageRow>(
      `SELECT ${MESSAGE_COLUMNS_WITH_BUNDLE} FROM inbound_message WHERE id = $1`,
      [id],
    );
    return rows[0] && rowToMessage(rows[0]);
  }

  /** Newest first; the items leave out the mapped Bundle (a list never needs it, and it is large). */
  async list(filter: MessageFilter): Promise<{ items: InboundMessage[]; next?: string }> {
    const count = Math.min(Math.max(Math.trunc(filter.count ?? 50), 1), 500);
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (filter.state) add('state = ?', filter.state);
    if (filter.institution) add('institution = ?', filter.institution);
    if (filter.type) add('type = ?', filter.type);
    if (filter.controlId) add('control_id = ?', filter.controlId);
    if (filter.feed) add('feed = ?', filter.feed);
    if (filter.since) {
      const since = new Date(filter.since);
      if (Number.isNaN(since.getTime())) throw new RangeError('since must be an ISO instant');
      add('received_at >= ?', since);
      add('id >= ?', idLowerBound(new Date(since.getTime() - ID_SKEW_MS)));
    }
    if (filter.cursor) {
      const after = decodeCursor(filter.cursor);
      if (after === undefined) return { items: [] };
      add('id < ?', after);
    }
    params.push(count + 1);
    const { rows } = await this.db.query<MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM inbound_message
        ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY id DESC LIMIT $${params.length}`,
      params,
    );
    const items = rows.slice(0, count).map(rowToMessage);
    const last = items[items.length - 1];
    return rows.length > count && last ? { items, next: encodeCursor(last.id) } : { items };
  }

  async markStored(id: string, written: WrittenRef[], outcome?: OperationOutcome): Promise<void> {
    await this.db.query(
      `UPDATE inbound_message SET state = 'stored', written = $2, outcome = COALESCE($3, outcome),
              updated_at = now() WHERE id = $1`,
      [id, JSON.stringify(written), outcome ?? null],
    );
  }

  async markFailed(id: string, outcome: OperationOutcome): Promise<void> {
    await this.db.query(
      `UPDATE inbound_message SET state = 'failed', outcome = $2, updated_at = now() WHERE id = $1`,
      [id, outcome],
    );
  }

  /** Also touches `updated_at`, so a message being worked on does not look forgotten to the reconciler. */
  async claim(id: string): Promise<InboundMessage | undefined> {
    const { rows } = await this.db.query<MessageRow>(
      `UPDATE inbound_message SET attempts = attempts + 1, updated_at = now()
        WHERE id = $1 AND state = 'queued'
        RETURNING ${MESSAGE_COLUMNS_WITH_BUNDLE}`,
      [id],
    );
    return rows[0] && rowToMessage(rows[0]);
  }

  async releaseAttempt(id: string): Promise<void> {
    await this.db.query(
      `UPDATE inbound_message SET attempts = greatest(attempts - 1, 0) WHERE id = $1 AND state = 'queued'`,
      [id],
    );
  }

  async countAttempt(id: string): Promise<number> {
    const { rows } = await this.db.query<{ attempts: number }>(
      `UPDATE inbound_message SET attempts = attempts + 1, updated_at = now() WHERE id = $1 RETURNING attempts`,
      [id],
    );
    return rows[0]?.attempts ?? 0;
  }

  /** A replay's verdict replaces the old one; attempts start again and earlier writes are forgotten. */
  async replace(
    id: string,
    verdict: {
      state: 'queued' | 'failed';
      outcome?: OperationOutcome;
      bundle?: Bundle;
      type?: string;
      eventTime?: string;
    },
  ): Promise<void> {
    await this.db.query(
      `UPDATE inbound_message
          SET state = $2, outcome = $3, bundle = $4::json, type = COALESCE($5, type), event_time = $6,
              written = NULL, attempts = 0, updated_at = now()
        WHERE id = $1`,
      [
        id,
        verdict.state,
        verdict.outcome ?? null,
        bundleText(verdict.bundle),
        verdict.type ?? null,
        verdict.eventTime ?? null,
      ],
    );
  }

  async pendingIds(olderThan: Date, limit: number): Promise<string[]> {
    const { rows } = await this.db.query<{ id: string }>(
      `SELECT id FROM inbound_message WHERE state = 'queued' AND updated_at < $1 ORDER BY updated_at LIMIT $2`,
      [olderThan, limit],
    );
    return rows.map((r) => r.id);
  }
}

/** Exact text of the Bundle (LosslessNumber decimals keep their digits). */
function bundleText(bundle: Bundle | undefined): string | null {
  return bundle === undefined ? null : stringifyFhirJson(bundle);
}
