import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { TRUNCATED } from '../../inbox/postgres-inbox.ts';
import type { InboundMessage, MessageFormat } from '../../inbox/types.ts';
import type { InstitutionRegistry } from '../../institutions/types.ts';
import { fail, outcome, issue, type OperationOutcomeError } from '../../kernel/outcomes.ts';
import type { RefusedBody } from '../../pipeline/refused-stage.ts';
import type { Submission, Verdict } from '../../pipeline/types.ts';
import { tapBody, type BodyTap } from './body-tap.ts';
import { submittingInstitution } from './submitter.ts';

/** The gateway's stages as the HTTP edge sees them (given by the composition root). */
export interface IngestHandlers {
  fhir(sub: Submission): Promise<Verdict>;
  /** HL7 v2 over HTTP: one ACK per message, in order. */
  hl7v2?(sub: Submission): Promise<{ status: number; body: Buffer; contentType: string; location?: string }>;
  feed(sub: Submission, format: 'csv' | 'json'): Promise<Verdict>;
  /** Keeps a body no stage could read (empty, too large) as a failed message; undefined if it could not. */
  refused(sub: Submission, format: MessageFormat, refused: RefusedBody): Promise<InboundMessage | undefined>;
}

export interface IngestRoutesOptions {
  registry: InstitutionRegistry;
  handlers: IngestHandlers;
  maxBodyBytes: number;
}

/** How much of a body over the size limit is kept, for the sender and IT staff to recognise it. */
export const KEPT_BYTES = 64 * 1024;

const FHIR_TYPES = ['application/fhir+json', 'application/json'];
/** The mapping schema's `feed` pattern: any feed a mapping file can name can be posted to. */
const FEED_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const HL7_TYPES = ['application/hl7-v2', 'x-application/hl7-v2+er7', 'text/plain'];

/**
 * `POST /ingest/…`: bytes in (decoding belongs to the parse stage, which knows the charsets),
 * one answer out, as CONTRACTS.md "Inbound answers" fixes them.
 */
export function ingestRoutes(opts: IngestRoutesOptions): Router {
  const r = express.Router();
  const raw = express.raw({ type: () => true, limit: opts.maxBodyBytes });

  /** A body over the limit is not lost without a trace: its start is kept as a failed message. */
  const readBody =
    (format: MessageFormat): RequestHandler =>
    (req, res, next) => {
      const tap = tapBody(req, KEPT_BYTES);
      raw(req, res, (err?: unknown) => {
        if ((err as { type?: string } | undefined)?.type !== 'entity.too.large') return next(err);
        keepOversize(req, res, format, tap).then(next, next);
      });
    };

  const keepOversize = async (req: Request, res: Response, format: MessageFormat, tap: BodyTap) => {
    const institution = await submittingInstitution(res, opts.registry);
    const diagnostics =
      `The body (${tap.size()} bytes) is larger than this server accepts ` +
      `(${opts.maxBodyBytes} bytes, HIE_MAX_BODY_BYTES); send it in smaller parts`;
    const refusal = { code: 'too-costly' as const, diagnostics, hieCode: 'HIE-HTTP-001' };
    const kept = await opts.handlers.refused(
      { institution, transport: 'http', raw: tap.head(), ...feedOf(req) },
      format,
      { outcome: outcome(issue(refusal)), controlId: tap.digest(), flags: [TRUNCATED] },
    );
    return refusedAnswer(413, refusal, kept, `; its first ${KEPT_BYTES} bytes are kept as message`);
  };

  /** The body, or a 400 for an empty one, which is kept as a failed message too. */
  const body = async (req: Request, sub: Omit<Submission, 'raw'>, format: MessageFormat) => {
    const b = req.body as unknown;
    if (Buffer.isBuffer(b) && b.length > 0) return b;
    const refusal = { code: 'invalid' as const, diagnostics: 'The body is empty' };
    const kept = await opts.handlers.refused({ ...sub, raw: Buffer.alloc(0) }, format, {
      outcome: outcome(issue(refusal)),
    });
    throw refusedAnswer(400, refusal, kept, '; kept as message');
  };

  r.post('/ingest/fhir', readBody('fhir'), async (req, res) => {
    requireType(req, FHIR_TYPES);
    const institution = await submittingInstitution(res, opts.registry);
    const sub = { institution, transport: 'http' as const };
    const verdict = await opts.handlers.fhir({ ...sub, raw: await body(req, sub, 'fhir') });
    answer(res, verdict);
  });

  r.post('/ingest/hl7v2', readBody('hl7v2'), async (req, res) => {
    requireType(req, HL7_TYPES);
    const institution = await submittingInstitution(res, opts.registry);
    if (!opts.handlers.hl7v2)
      throw fail(503, { code: 'transient', diagnostics: 'HL7 v2 intake is not available' });
    const charset = charsetOf(req);
    const sub = {
      institution,
      transport: 'http' as const,
      ...(charset ? { contentTypeCharset: charset } : {}),
    };
    const out = await opts.handlers.hl7v2({ ...sub, raw: await body(req, sub, 'hl7v2') });
    if (out.location) res.setHeader('Location', out.location);
    res.status(out.status).setHeader('Content-Type', out.contentType);
    res.end(out.body);
  });

  for (const format of ['csv', 'json'] as const) {
    r.post(`/ingest/${format}/:feed`, readBody(format), async (req, res) => {
      const feed = String(req.params.feed);
      if (!FEED_NAME.test(feed))
        throw fail(400, {
          code: 'invalid',
          diagnostics: `Feed name "${feed}" is not valid (a-z, 0-9 and -, starting with a letter or digit, at most 63)`,
        });
      const institution = await submittingInstitution(res, opts.registry);
      const charset = charsetOf(req);
      const sub = {
        institution,
        transport: 'http' as const,
        feed,
        ...(charset ? { contentTypeCharset: charset } : {}),
      };
      const verdict = await opts.handlers.feed({ ...sub, raw: await body(req, sub, format) }, format);
      answer(res, verdict);
    });
  }
  return r;
}

/** The `charset` parameter of the content type, if the sender named one. */
function charsetOf(req: Request): string | undefined {
  const type = req.headers['content-type'];
  return type ? /charset="?([^";]+)"?/i.exec(type)?.[1]?.trim() : undefined;
}

/** The feed of a `/ingest/{csv|json}/{feed}` path (route parameters are not parsed yet on a body error). */
function feedOf(req: Request): { feed?: string } {
  const feed = /^\/ingest\/(?:csv|json)\/([^/]+)$/.exec(req.path)?.[1];
  return feed && FEED_NAME.test(feed) ? { feed } : {};
}

/** The refusal as an error answer; with `Location` and the message id when the body was kept. */
function refusedAnswer(
  status: number,
  refusal: Parameters<typeof fail>[1],
  kept: InboundMessage | undefined,
  keptText: string,
): OperationOutcomeError {
  if (!kept) return fail(status, refusal);
  return fail(
    status,
    { ...refusal, diagnostics: `${refusal.diagnostics}${keptText} ${kept.id}` },
    { Location: `/ingest/messages/${kept.id}` },
  );
}

function requireType(req: Request, allowed: string[]): void {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (!allowed.includes(type)) {
    throw fail(415, {
      code: 'not-supported',
      diagnostics: `Content-Type must be one of ${allowed.join(', ')}; got "${type || 'none'}"`,
    });
  }
}

/** 202 + OperationOutcome + Location when accepted; 422 with the problems when not. */
function answer(res: Response, v: Verdict): void {
  if (v.message) res.setHeader('Location', `/ingest/messages/${v.message.id}`);
  res
    .status(v.accepted ? 202 : 422)
    .type('application/fhir+json')
    .send(JSON.stringify(v.outcome));
}
