import express, { type Router } from 'express';
import iconv from 'iconv-lite';
import type { InboundMessage, Inbox, MessageFilter, MessageState } from '../../inbox/types.ts';
import { badRequest, forbidden, notFound } from '../../kernel/outcomes.ts';
import type { Verdict } from '../../pipeline/types.ts';
import { messageViewer, type MessageViewer } from './submitter.ts';

export interface MessagesRoutesOptions {
  inbox: Inbox;
  /** Re-runs parse → map → validate → enqueue on the raw bytes of an archived message. */
  replay(message: InboundMessage): Promise<Verdict>;
  /** Most messages one bulk replay takes on. */
  maxBulkReplay?: number;
}

const STATES = new Set<MessageState>(['queued', 'stored', 'failed']);

/**
 * The archive as IT staff see it (CONTRACTS "Inbound answers"): one message, a filtered list
 * newest first, and replay of one or of many by filter. Institutions see only their own.
 */
export function messagesRoutes(opts: MessagesRoutesOptions): Router {
  const r = express.Router();

  r.get('/ingest/messages', async (req, res) => {
    const viewer = messageViewer(res);
    const filter = filterFrom(req.query as Record<string, unknown>, viewer);
    const page = await opts.inbox.list(filter);
    let next: string | undefined;
    if (page.next) {
      const q = new URLSearchParams(Object.entries(req.query as Record<string, string>));
      q.set('cursor', page.next);
      next = `/ingest/messages?${q.toString()}`;
    }
    res.json({ items: page.items.map((m) => view(m, viewer)), ...(next ? { next } : {}) });
  });

  r.get('/ingest/messages/:id', async (req, res) => {
    const viewer = messageViewer(res);
    res.json(view(await visible(opts.inbox, String(req.params.id), viewer), viewer));
  });

  r.post('/ingest/messages/:id/\\$replay', async (req, res) => {
    const viewer = messageViewer(res);
    const message = await visible(opts.inbox, String(req.params.id), viewer);
    const verdict = await opts.replay(message);
    const after = await opts.inbox.get(message.id);
    res.status(verdict.accepted ? 202 : 422).json(view(after ?? message, viewer));
  });

  r.post('/ingest/messages/\\$replay', async (req, res) => {
    const viewer = messageViewer(res);
    const filter = filterFrom(req.query as Record<string, unknown>, viewer);
    filter.state ??= 'failed';
    const limit = Math.min(opts.maxBulkReplay ?? 1000, 1000);
    const results: { id: string; state: string }[] = [];
    let cursor: string | undefined;
    do {
      const page = await opts.inbox.list({ ...filter, count: 200, ...(cursor ? { cursor } : {}) });
      for (const m of page.items) {
        if (results.length >= limit) break;
        const verdict = await opts.replay(m);
        results.push({ id: m.id, state: verdict.accepted ? 'queued' : 'failed' });
      }
      cursor = page.next;
    } while (cursor && results.length < limit);
    res.json({
      replayed: results.length,
      queued: results.filter((x) => x.state === 'queued').length,
      items: results,
    });
  });
  return r;
}

async function visible(inbox: Inbox, id: string, viewer: MessageViewer): Promise<InboundMessage> {
  const message = await inbox.get(id);
  if (!message) throw notFound(`No inbound message ${id}`);
  if (!viewer.admin && message.institution !== viewer.institution) {
    // Another institution's message: as if it were not there, but said plainly.
    throw forbidden(`Message ${id} belongs to another institution`);
  }
  return message;
}

/** The list's query parameters (CONTRACTS "Inbound answers") and the paging cursor. */
const FILTER_PARAMETERS = [
  'status',
  'institution',
  'type',
  'control-id',
  'feed',
  'since',
  '_count',
  'cursor',
];

function filterFrom(q: Record<string, unknown>, viewer: MessageViewer): MessageFilter {
  // A misspelt filter must not widen the selection silently: a bulk $replay with `state=failed`
  // or `institutoin=…` would otherwise run on far more messages than meant.
  for (const name of Object.keys(q)) {
    if (!FILTER_PARAMETERS.includes(name))
      throw badRequest(`Unknown parameter "${name}"; the filters are ${FILTER_PARAMETERS.join(', ')}`, name);
  }
  const text = (name: string) =>
    typeof q[name] === 'string' && q[name] !== '' ? (q[name] as string) : undefined;
  const filter: MessageFilter = {};
  const status = text('status');
  if (status !== undefined) {
    if (!STATES.has(status as MessageState))
      throw badRequest(`status must be queued, stored or failed; got "${status}"`, 'status');
    filter.state = status as MessageState;
  }
  const institution = text('institution');
  if (institution !== undefined) filter.institution = institution;
  if (!viewer.admin) {
    if (institution !== undefined && institution !== viewer.institution)
      throw forbidden('Institutions see only their own messages');
    filter.institution = viewer.institution;
  }
  const type = text('type');
  if (type) filter.type = type;
  const controlId = text('control-id');
  if (controlId) filter.controlId = controlId;
  const feed = text('feed');
  if (feed) filter.feed = feed;
  const since = text('since');
  if (since) {
    if (Number.isNaN(Date.parse(since)))
      throw badRequest(`since must be an ISO date-time; got "${since}"`, 'since');
    filter.since = new Date(since).toISOString();
  }
  const count = text('_count');
  if (count) {
    const n = Number(count);
    if (!Number.isInteger(n) || n < 1 || n > 500) throw badRequest('_count must be 1 to 500', '_count');
    filter.count = n;
  }
  const cursor = text('cursor');
  if (cursor) filter.cursor = cursor;
  return filter;
}

/** The public shape of one message; raw text only for those who may read it. */
function view(m: InboundMessage, viewer: MessageViewer) {
  return {
    id: m.id,
    institution: m.institution,
    format: m.format,
    ...(m.feed ? { feed: m.feed } : {}),
    type: m.type ?? null,
    controlId: m.controlId,
    state: m.state,
    receivedAt: m.receivedAt,
    updatedAt: m.updatedAt,
    flags: m.flags,
    attempts: m.attempts,
    outcome: m.outcome ?? null,
    written: m.written ?? [],
    ...(viewer.mayReadRaw(m.institution) ? { raw: decodeRaw(m) } : {}),
  };
}

function decodeRaw(m: InboundMessage): string {
  const charset = m.charset && iconv.encodingExists(m.charset) ? m.charset : 'utf8';
  return iconv.decode(m.raw, charset);
}
