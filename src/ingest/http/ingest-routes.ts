import express, { type Request, type Response, type Router } from 'express';
import type { InstitutionRegistry } from '../../institutions/types.ts';
import { fail } from '../../kernel/outcomes.ts';
import type { Submission, Verdict } from '../../pipeline/types.ts';
import { submittingInstitution } from './submitter.ts';

/** The gateway's stages as the HTTP edge sees them (given by the composition root). */
export interface IngestHandlers {
  fhir(sub: Submission): Promise<Verdict>;
  /** HL7 v2 over HTTP: one ACK per message, in order. */
  hl7v2?(sub: Submission): Promise<{ status: number; body: Buffer; contentType: string; location?: string }>;
  feed(sub: Submission, format: 'csv' | 'json'): Promise<Verdict>;
}

export interface IngestRoutesOptions {
  registry: InstitutionRegistry;
  handlers: IngestHandlers;
  maxBodyBytes: number;
}

const FHIR_TYPES = ['application/fhir+json', 'application/json'];
const HL7_TYPES = ['application/hl7-v2', 'x-application/hl7-v2+er7', 'text/plain'];

/**
 * `POST /ingest/…`: bytes in (decoding belongs to the parse stage, which knows the charsets),
 * one answer out, as CONTRACTS.md "Inbound answers" fixes them.
 */
export function ingestRoutes(opts: IngestRoutesOptions): Router {
  const r = express.Router();
  const raw = express.raw({ type: () => true, limit: opts.maxBodyBytes });

  r.post('/ingest/fhir', raw, async (req, res) => {
    requireType(req, FHIR_TYPES);
    const institution = await submittingInstitution(res, opts.registry);
    const verdict = await opts.handlers.fhir({ institution, transport: 'http', raw: body(req) });
    answer(res, verdict);
  });

  r.post('/ingest/hl7v2', raw, async (req, res) => {
    requireType(req, HL7_TYPES);
    const institution = await submittingInstitution(res, opts.registry);
    if (!opts.handlers.hl7v2)
      throw fail(503, { code: 'transient', diagnostics: 'HL7 v2 intake is not available' });
    const charset = charsetOf(req);
    const out = await opts.handlers.hl7v2({
      institution,
      transport: 'http',
      raw: body(req),
      ...(charset ? { contentTypeCharset: charset } : {}),
    });
    if (out.location) res.setHeader('Location', out.location);
    res.status(out.status).setHeader('Content-Type', out.contentType);
    res.end(out.body);
  });

  for (const format of ['csv', 'json'] as const) {
    r.post(`/ingest/${format}/:feed`, raw, async (req, res) => {
      const feed = String(req.params.feed);
      // The mapping schema's `feed` pattern: any feed a mapping file can name can be posted to.
      if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(feed))
        throw fail(400, {
          code: 'invalid',
          diagnostics: `Feed name "${feed}" is not valid (a-z, 0-9 and -, starting with a letter or digit, at most 63)`,
        });
      const institution = await submittingInstitution(res, opts.registry);
      const charset = charsetOf(req);
      const verdict = await opts.handlers.feed(
        {
          institution,
          transport: 'http',
          raw: body(req),
          feed,
          ...(charset ? { contentTypeCharset: charset } : {}),
        },
        format,
      );
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

function body(req: Request): Buffer {
  const b = req.body as unknown;
  if (!Buffer.isBuffer(b) || b.length === 0)
    throw fail(400, { code: 'invalid', diagnostics: 'The body is empty' });
  return b;
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
