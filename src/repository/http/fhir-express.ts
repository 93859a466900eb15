import express, { type Request, type Response, type Router } from 'express';
import { parseFhirJson } from '../../kernel/fhir-json.ts';
import { badRequest, fail } from '../../kernel/outcomes.ts';
import type { Authorize, FhirRequest, FhirResponse, RequestAccess } from '../router/fhir-request.ts';
import type { FhirRouter } from '../router/fhir-router.ts';

export interface FhirExpressOptions {
  router: FhirRouter;
  maxBodyBytes: number;
  /** Absolute FHIR base, e.g. `http://localhost:8080/fhir`. */
  baseUrl: string;
  /** Builds the access check for this request (from `res.locals.auth`). */
  authorizeFor: (res: Response) => Authorize;
  /** The access policy of this request (absent: the caller sees and changes everything). */
  accessFor?: (req: Request, res: Response) => Promise<RequestAccess | undefined>;
}

/**
 * The thin Express adapter of the FHIR router: reads the raw body (size-limited) and the
 * query, turns them into a plain FhirRequest, and writes the FhirResponse back. JSON only:
 * XML is refused up front (and with it the XXE family of attacks).
 */
export function fhirExpressRouter(opts: FhirExpressOptions): Router {
  const r = express.Router();
  r.use(express.raw({ type: () => true, limit: opts.maxBodyBytes }));
  r.use(async (req: Request, res: Response, next) => {
    try {
      const fhirReq = toFhirRequest(req, opts.baseUrl);
      const access = await opts.accessFor?.(req, res);
      if (access) fhirReq.access = access;
      send(res, await opts.router.handle(fhirReq, opts.authorizeFor(res)));
    } catch (err) {
      next(err);
    }
  });
  return r;
}

function toFhirRequest(req: Request, baseUrl: string): FhirRequest {
  const url = new URL(req.originalUrl, 'http://x');
  const query = [...url.searchParams.entries()];
  checkFormat(query.find(([k]) => k === '_format')?.[1], req.headers.accept);
  const path = req.path.split('/').filter(Boolean).map(decodeURIComponent);
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers))
    headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  const fhirReq: FhirRequest = {
    method: req.method,
    path,
    query: query.filter(([k]) => k !== '_format' && k !== '_pretty'),
    headers,
    requestUrl: `${baseUrl}${req.path === '/' ? '' : req.path}`,
  };
  const body = Buffer.isBuffer(req.body) && req.body.length > 0 ? req.body : undefined;
  if (body) {
    const type = (headers['content-type'] ?? '').toLowerCase();
    if (type.startsWith('application/x-www-form-urlencoded')) {
      fhirReq.query.push(...new URLSearchParams(body.toString('utf8')).entries());
    } else {
      checkContentType(type);
      fhirReq.body = parseFhirJson(decodeUtf8(body));
    }
  }
  return fhirReq;
}

/** Strict UTF-8: a body in another encoding is a client error, not mojibake in the store. */
function decodeUtf8(body: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(body);
  } catch {
    throw badRequest('The body is not valid UTF-8', undefined, 'HIE-HTTP-003');
  }
}

function checkContentType(type: string): void {
  if (type === '' || /^application\/(fhir\+json|json|json-patch\+json)\b/.test(type)) return;
  if (/xml/.test(type))
    throw fail(415, { code: 'not-supported', diagnostics: 'This server speaks FHIR JSON only, not XML' });
  throw fail(415, {
    code: 'not-supported',
    diagnostics: `Content-Type "${type}" is not supported; use application/fhir+json`,
  });
}

function checkFormat(format: string | undefined, accept: string | undefined): void {
  const f = (format ?? '').toLowerCase();
  if (f && !/^(json|application\/(fhir\+)?json)$/.test(f)) {
    throw fail(406, {
      code: 'not-supported',
      diagnostics: `_format=${format} is not supported; this server speaks JSON only`,
    });
  }
  if (!f && accept && /xml/i.test(accept) && !/json|\*\/\*/i.test(accept)) {
    throw fail(406, { code: 'not-supported', diagnostics: 'This server answers in FHIR JSON only' });
  }
}

function send(res: Response, out: FhirResponse): void {
  if (out.audit) res.locals.audit = { ...(res.locals.audit ?? {}), ...out.audit };
  res.status(out.status);
  for (const [k, v] of Object.entries(out.headers)) res.setHeader(k, v);
  if (out.body === undefined) res.end();
  else if (out.gzipped) {
    res.setHeader('Content-Encoding', 'gzip');
    res.send(out.gzipped);
  } else res.send(out.body);
}
