import type { Bundle, OperationOutcome } from 'fhir/r4';
import { parseFhirJson } from '../kernel/fhir-json.ts';
import type { InboundMessage, MessageFormat, MessageState, Transport, WrittenRef } from './types.ts';

/**
 * The columns a read selects. `bundle` comes back as text: node-postgres would parse a `json`
 * column with JSON.parse and lose a decimal's precision, so it is parsed here with the FHIR parser.
 */
export const MESSAGE_COLUMNS_WITHOUT_CONTENT = `id, institution, format, feed, transport, type, control_id,
  content_hash, charset, received_at, updated_at, state, outcome, event_time, flags, written, attempts`;

export const MESSAGE_COLUMNS = `${MESSAGE_COLUMNS_WITHOUT_CONTENT}, raw`;

export const MESSAGE_COLUMNS_WITH_BUNDLE = `${MESSAGE_COLUMNS}, bundle::text AS bundle_text`;

export interface MessageRow {
  id: string;
  institution: string;
  format: string;
  feed: string | null;
  transport: string;
  type: string | null;
  control_id: string;
  content_hash: string;
  raw: Buffer;
  charset: string | null;
  received_at: Date;
  updated_at: Date;
  state: string;
  outcome: OperationOutcome | null;
  event_time: string | null;
  flags: string[];
  written: WrittenRef[] | null;
  attempts: number;
  bundle_text?: string | null;
}

/** A row as the `InboundMessage` of the interface; optional fields are left out, not `undefined`. */
export function rowToMessage(row: MessageRow): InboundMessage {
  const m: InboundMessage = {
    id: row.id,
    institution: row.institution,
    format: row.format as MessageFormat,
    transport: row.transport as Transport,
    controlId: row.control_id,
    contentHash: row.content_hash,
    raw: row.raw,
    receivedAt: row.received_at.toISOString(),
    state: row.state as MessageState,
    flags: row.flags,
    attempts: row.attempts,
    updatedAt: row.updated_at.toISOString(),
  };
  if (row.feed !== null) m.feed = row.feed;
  if (row.type !== null) m.type = row.type;
  if (row.charset !== null) m.charset = row.charset;
  if (row.outcome !== null) m.outcome = row.outcome;
  if (row.event_time !== null) m.eventTime = row.event_time;
  if (row.written !== null) m.written = row.written;
  if (row.bundle_text) m.bundle = parseFhirJson(row.bundle_text, 1000) as Bundle;
  return m;
}

/** The list cursor: the last id of a page, opaque to callers so its form may change. */
export function encodeCursor(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string | undefined {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  // Only a well-formed id is used as a bound; anything else is a bad cursor (no page, not an error).
  return /^[0-9a-f-]{36}$/.test(id) ? id : undefined;
}

/**
 * The smallest UUIDv7 of a millisecond: `since` becomes an id bound, so the newest-first index
 * on id also serves the time filter (ids are made when the message is received).
 */
export function idLowerBound(since: Date): string {
  const hex = since.getTime().toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-0000-0000-000000000000`;
}
