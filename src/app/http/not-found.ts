import type { RequestHandler } from 'express';
import { fail } from '../../kernel/outcomes.ts';

/**
 * The last handler: a request no route took. Express's own answer is an HTML page, which a
 * sending system logs as noise; this one is an OperationOutcome like every other error, naming
 * the method and path it could not place (a mistyped `/ingest/hl7` is the usual case).
 */
export function routeNotFound(): RequestHandler {
  return (req, _res, next) => {
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
