import express, { type Request, type Response, type Router } from 'express';
import type { MessageFormat } from '../../inbox/types.ts';
import type { InstitutionRegistry } from '../../institutions/types.ts';
import { fail } from '../../kernel/outcomes.ts';
import type { Submission, Verdict } from '../../pipeline/types.ts';
import { refusals, type KeepRefused } from './refusals.ts';
import { submittingInstitution } from './submitter.ts';

/** The gateway's stages as the HTTP edge sees them (given by the composition root). */
export interface IngestHandlers {
  fhir(sub: Submission): Promise<Verdict>;
  /** HL7 v2 over HTTP: one ACK per message, in order. */
  hl7v2?(sub: Submission): Promise<{ status: number; body: Buffer; contentType: string; location?: string }>;
  feed(sub: Submission, format: 'csv' | 'json'): Promise<Verdict>;
  /** Keeps a body no stage could read (empty, too large) as a failed message; undefined if it could not. */
  refused: KeepRefused;
}

export interface IngestRoutesOptions {
  registry: InstitutionRegistry;
  handlers: IngestHandlers;
  maxBodyBytes: number;
}

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
  const { readBody, nonEmpty, refuse } = refusals({
    registry: opts.registry,
    maxBodyBytes: opts.maxBodyBytes,
    keep: opts.handlers.refused,
  });

  /** A body of a type the route does not take: 415, and kept with the reason like other bad input. */
  const requireType = async (
    req: Request,
    sub: Omit<Submission, 'raw'>,
    format: MessageFormat,
    allowed: string[],
  ) => {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (allowed.includes(type)) return;
    const raw = Buffer.isBuffer(req.body) ? (req.body as Buffer) : Buffer.alloc(0);
    throw await refuse({ ...sub, raw }, format, 415, {
      code: 'not-supported',
      diagnostics: `Content-Type must be one of ${allowed.join(', ')}; got "${type || 'none'}"`,
    });
  };

  r.post('/ingest/fhir', readBody('fhir'), async (req, res) => {
    const institution = await submittingInstitution(res, opts.registry);
    const sub = { institution, transport: 'http' as const };
    await requireType(req, sub, 'fhir', FHIR_TYPES);
    const verdict = await opts.handlers.fhir({ ...sub, raw: await nonEmpty(req, sub, 'fhir') });
    answer(res, verdict);
  });

  r.post('/ingest/hl7v2', readBody('hl7v2'), async (req, res) => {
    const institution = await submittingInstitution(res, opts.registry);
    if (!opts.handlers.hl7v2)
      throw fail(503, { code: 'transient', diagnostics: 'HL7 v2 intake is not available' });
    const charset = charsetOf(req);
    const sub = {
      institution,
      transport: 'http' as const,
      ...(charset ? { contentTypeCharset: charset } : {}),
    };
    await requireType(req, sub, 'hl7v2', HL7_TYPES);
    const out = await opts.handlers.hl7v2({ ...sub, raw: await nonEmpty(req, sub, 'hl7v2') });
    if (out.location) res.setHeader('Location', out.location);
    res.status(out.status).setHeader('Content-Type', out.contentType);
    res.end(out.body);
  });

  for (const format of ['csv', 'json'] as const) {
    r.post(`/ingest/${format}/:feed`, readBody(format, feedOf), async (req, res) => {
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
      const verdict = await opts.handlers.feed({ ...sub, raw: await nonEmpty(req, sub, format) }, format);
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

/** 202 + OperationOutcome + Location when accepted; 422 with the problems when not. */
function answer(res: Response, v: Verdict): void {
  if (v.message) res.setHeader('Location', `/ingest/messages/${v.message.id}`);
  res
    .status(v.accepted ? 202 : 422)
    .type('application/fhir+json')
    .send(JSON.stringify(v.outcome));
}
