import { badRequest, fail, notSupported } from '../../kernel/outcomes.ts';
import type { BundleProcessor } from '../bundle/bundle-processor.ts';
import { search, searchResultToBundle, type VisibleIf } from '../search/index.ts';
import { parseCriteria } from '../store/conditional.ts';
import { parseIfMatch } from '../store/etag.ts';
import type { FhirRepository } from '../store/fhir-repository.ts';
import { history } from '../store/history.ts';
import type { Authorize, FhirRequest, FhirResponse } from './fhir-request.ts';
import { jsonResponse, preferStrict, resourceResponse, writeResponse } from './respond.ts';

/** A FHIR operation (`$name`) handler; declared by later stages (summary, identity, validation). */
export type OperationHandler = (
  req: FhirRequest,
  target: { resourceType?: string; id?: string },
) => Promise<FhirResponse>;

export interface FhirRouterDeps {
  repo: FhirRepository;
  bundles: BundleProcessor;
  capabilityStatement: () => string;
  /** Operations by `$name` (system or type level) or `Type/$name`. */
  operations?: Map<string, OperationHandler>;
}

/**
 * Maps a FHIR REST request to a repository interaction (R4 RESTful API §3.1.0).
 * It knows nothing of Express: plain request in, plain response out.
 */
export class FhirRouter {
  constructor(private readonly deps: FhirRouterDeps) {}

  async handle(req: FhirRequest, authorize: Authorize): Promise<FhirResponse> {
    const [a, b, c, d, ...rest] = req.path;
    if (rest.length > 0) throw notFound(req);
    if (a === undefined) return this.system(req, authorize);
    if (a === 'metadata' && !b && req.method === 'GET')
      return jsonResponse(200, this.deps.capabilityStatement());
    if (a.startsWith('$')) return this.operation(req, authorize, a, {});
    if (a === '_history' && !b) return this.history(req, authorize, undefined, undefined);
    this.deps.repo.assertType(a);
    if (b === undefined) return this.type(req, authorize, a);
    if (b === '_search' && !c && req.method === 'POST') return this.search(req, authorize, a);
    if (b === '_history' && !c && req.method === 'GET') return this.history(req, authorize, a, undefined);
    if (b.startsWith('$') && !c) return this.operation(req, authorize, b, { resourceType: a });
    if (c === undefined) return this.instance(req, authorize, a, b);
    if (c === '_history' && req.method === 'GET') {
      if (d === undefined) return this.history(req, authorize, a, b);
      authorize(a, 'vread');
      // An earlier version may have belonged to another person (a corrected result): each
      // version shown is checked with its own compartments.
      if (/^\d+$/.test(d)) await req.access?.assertVersionsReadable(a, b, Number(d));
      else await req.access?.assertReadable(a, b);
      if (!/^\d+$/.test(d))
        throw fail(404, { code: 'not-found', diagnostics: `No version "${d}" of ${a}/${b}` });
      return resourceResponse(200, await this.deps.repo.vread(a, b, Number(d)));
    }
    if (c.startsWith('$') && d === undefined)
      return this.operation(req, authorize, c, { resourceType: a, id: b });
    throw notFound(req);
  }

  private async system(req: FhirRequest, authorize: Authorize): Promise<FhirResponse> {
    if (req.method === 'POST')
      return jsonResponse(200, await this.deps.bundles.process(req.body, req.headers, authorize, req.access));
    if (req.method === 'GET') return this.search(req, authorize, undefined);
    throw methodNotAllowed(req);
  }

  private async type(req: FhirRequest, authorize: Authorize, type: string): Promise<FhirResponse> {
    const { repo } = this.deps;
    const prefer = req.headers['prefer'];
    switch (req.method) {
      case 'GET':
        return this.search(req, authorize, type);
      case 'POST': {
        authorize(type, 'create');
        const body = requireResource(req.body, type);
        req.access?.prepareWrite(body);
        const ifNoneExist = req.headers['if-none-exist'];
        const r = await repo.create(
          body,
          ifNoneExist ? parseCriteria(stripQuestionMark(ifNoneExist, type)) : undefined,
          visibleOnly(req),
        );
        return writeResponse(r.status, r.stored, repo.baseUrl, prefer);
      }
      case 'PUT': {
        authorize(type, 'update');
        const body = requireResource(req.body, type);
        req.access?.prepareWrite(body);
        const r = await repo.conditionalUpdate(type, criteriaOf(req), body, {
          ...ifMatchOf(req),
          ...visibleOnly(req),
        });
        return writeResponse(r.status, r.stored, repo.baseUrl, prefer);
      }
      case 'DELETE': {
        authorize(type, 'delete');
        const n = await repo.conditionalDelete(type, criteriaOf(req), visibleOnly(req));
        return jsonResponse(200, {
          resourceType: 'OperationOutcome',
          issue: [{ severity: 'information', code: 'informational', diagnostics: `${n} ${type} deleted` }],
        });
      }
      default:
        throw methodNotAllowed(req);
    }
  }

  private async instance(
    req: FhirRequest,
    authorize: Authorize,
    type: string,
    id: string,
  ): Promise<FhirResponse> {
    const { repo } = this.deps;
    const prefer = req.headers['prefer'];
    switch (req.method) {
      case 'GET':
        authorize(type, 'read');
        await req.access?.assertReadable(type, id);
        return resourceResponse(200, await repo.read(type, id));
      case 'PUT': {
        authorize(type, 'update');
        const body = requireResource(req.body, type);
        await req.access?.assertWritable(type, id);
        req.access?.prepareWrite(body);
        const r = await repo.update(type, id, body, ifMatchOf(req));
        return writeResponse(r.status, r.stored, repo.baseUrl, prefer);
      }
      case 'PATCH': {
        authorize(type, 'patch');
        await req.access?.assertWritable(type, id);
        const ct = req.headers['content-type'] ?? '';
        if (!/json-patch\+json/i.test(ct)) {
          throw fail(415, {
            code: 'not-supported',
            diagnostics: 'PATCH takes application/json-patch+json (JSON Patch)',
          });
        }
        const r = await repo.patch(type, id, req.body, ifMatchOf(req));
        return writeResponse(r.status, r.stored, repo.baseUrl, prefer);
      }
      case 'DELETE': {
        authorize(type, 'delete');
        await req.access?.assertWritable(type, id);
        const deleted = await repo.delete(type, id, ifMatchOf(req));
        return { status: 204, headers: deleted ? { ETag: `W/"${deleted.versionId}"` } : {} };
      }
      default:
        throw methodNotAllowed(req);
    }
  }

  private async search(
    req: FhirRequest,
    authorize: Authorize,
    type: string | undefined,
  ): Promise<FhirResponse> {
    authorize(type, 'search');
    const { repo } = this.deps;
    const result = await search(repo.db, repo.model, {
      resourceType: type,
      params: req.query,
      strict: preferStrict(req.headers['prefer']),
      baseUrl: repo.baseUrl,
      ...visibleOnly(req),
    });
    return jsonResponse(200, searchResultToBundle(result, repo.baseUrl));
  }

  private async history(
    req: FhirRequest,
    authorize: Authorize,
    type?: string,
    id?: string,
  ): Promise<FhirResponse> {
    authorize(type, 'history');
    if (type && id) await req.access?.assertVersionsReadable(type, id);
    else req.access?.assertHistoryAcrossResources();
    if (type && id)
      await this.deps.repo.read(type, id).catch((e) => (e.status === 410 ? undefined : Promise.reject(e)));
    const body = await history(this.deps.repo.db, {
      ...(type ? { resourceType: type } : {}),
      ...(id ? { id } : {}),
      params: req.query,
      baseUrl: this.deps.repo.baseUrl,
      requestUrl: req.requestUrl,
    });
    return jsonResponse(200, body);
  }

  private async operation(
    req: FhirRequest,
    authorize: Authorize,
    name: string,
    target: { resourceType?: string; id?: string },
  ): Promise<FhirResponse> {
    const ops = this.deps.operations;
    const handler = (target.resourceType && ops?.get(`${target.resourceType}/${name}`)) || ops?.get(name);
    if (!handler) throw notSupported(`Operation ${name} is not supported here (see /fhir/metadata)`, 404);
    authorize(target.resourceType, 'operation');
    return handler(req, target);
  }
}

function requireResource(body: unknown, type: string): Record<string, any> {
  if (body === undefined)
    throw badRequest(`A ${type} resource is required in the body`, undefined, 'HIE-REPO-001');
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest('The body must be a JSON object (a FHIR resource)', undefined, 'HIE-REPO-001');
  }
  const resourceType = (body as { resourceType?: unknown }).resourceType;
  if (resourceType !== type) {
    throw badRequest(
      `Body is a ${JSON.stringify(resourceType)}, the URL names ${type}`,
      'resourceType',
      'HIE-REPO-002',
    );
  }
  return body as Record<string, any>;
}

/** The policy's row predicate for searches and conditional matches, when the request has one. */
function visibleOnly(req: FhirRequest): { visibleIf?: VisibleIf } {
  return req.access?.visibleIf ? { visibleIf: req.access.visibleIf } : {};
}

function criteriaOf(req: FhirRequest): [string, string][] {
  if (req.query.length === 0) throw badRequest('Conditional update/delete needs search criteria in the URL');
  return req.query;
}

function ifMatchOf(req: FhirRequest): { ifMatch?: number } {
  const h = req.headers['if-match'];
  return h ? { ifMatch: parseIfMatch(h) } : {};
}

/** `If-None-Exist` carries the query part, with or without `Type?` in front (both are seen). */
function stripQuestionMark(value: string, type: string): string {
  if (value.startsWith(`${type}?`)) return value.slice(type.length + 1);
  return value.startsWith('?') ? value.slice(1) : value;
}

function notFound(req: FhirRequest) {
  return fail(404, {
    code: 'not-found',
    diagnostics: `No FHIR endpoint at ${req.method} /${req.path.join('/')}`,
  });
}

function methodNotAllowed(req: FhirRequest) {
  return fail(405, {
    code: 'not-supported',
    diagnostics: `${req.method} is not allowed on /${req.path.join('/')}`,
  });
}
