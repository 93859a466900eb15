import type { Request, RequestHandler } from 'express';
import { fail } from '../../kernel/outcomes.ts';

/**
 * The last handler: a request no route took. Express's own answer is an HTML page, which a
 * sending system logs as noise; this one is an OperationOutcome like every other error. A path
 * some route serves with other methods is a 405 with `Allow` (a `DELETE /ingest/messages` is a
 * wrong method, not a wrong address); any other path is a 404 naming where messages go (a
 * mistyped `/ingest/hl7` is the usual case).
 */
export function routeNotFound(): RequestHandler {
  return (req, _res, next) => {
    const allowed = allowedMethods(req);
    if (allowed.length > 0)
      return next(
        fail(
          405,
          {
            code: 'not-supported',
            diagnostics: `${req.path} does not take ${req.method}; it takes ${allowed.join(', ')}`,
            hieCode: 'HIE-HTTP-007',
          },
          { Allow: allowed.join(', ') },
        ),
      );
    next(
      fail(404, {
        code: 'not-found',
        diagnostics:
          `No route for ${req.method} ${req.path}. Messages go to POST /ingest/hl7v2, /ingest/fhir, ` +
          '/ingest/csv/{feed}, /ingest/json/{feed} or /fhir/$process-message; the FHIR API is under ' +
          '/fhir (see /fhir/metadata)',
        hieCode: 'HIE-HTTP-006',
      }),
    );
  };
}

/** What express's router keeps of each `use` and route (router 2.x); only what is read here. */
interface RouterLayer {
  match?: (path: string) => { path: string } | false;
  route?: { methods: Record<string, boolean | undefined> };
  handle?: { stack?: RouterLayer[] };
}

/**
 * The methods the app's routes take at this path, found by walking its router the way a request
 * would (into mounted routers, with the mount path taken off). A route answering every method
 * (`all`) never lets a request reach here, so it is not counted.
 */
function allowedMethods(req: Request): string[] {
  const out = new Set<string>();
  const root = (req.app as unknown as { router?: { stack?: RouterLayer[] } }).router;
  collect(root?.stack, req.path, out);
  if (out.has('GET')) out.add('HEAD');
  return [...out].sort();
}

function collect(stack: RouterLayer[] | undefined, path: string, out: Set<string>): void {
  for (const layer of stack ?? []) {
    const m = layer.match?.(path);
    if (!m) continue;
    if (layer.route) {
      for (const [method, on] of Object.entries(layer.route.methods))
        if (on && method !== '_all') out.add(method.toUpperCase());
    } else if (layer.handle?.stack) collect(layer.handle.stack, path.slice(m.path.length) || '/', out);
  }
}
