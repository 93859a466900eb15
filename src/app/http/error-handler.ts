import type { ErrorRequestHandler } from 'express';
import { isConnectionError } from '../../db/database.ts';
import type { Logger } from '../../kernel/logger.ts';
import { OperationOutcomeError, fail, isUnstorableText, unstorableText } from '../../kernel/outcomes.ts';

/**
 * The one place where errors become HTTP answers: an OperationOutcomeError keeps its status,
 * body-parser's errors keep theirs (413, 400), a database that cannot be reached is a 503
 * (the client may retry), and anything else is a 500 that is logged but not described.
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const outcomeError = toOutcomeError(err);
    if (outcomeError.status >= 500) {
      logger.error({ err: errorSummary(err), method: req.method, path: req.path }, 'request failed');
    }
    res.status(outcomeError.status);
    for (const [k, v] of Object.entries(outcomeError.headers)) res.setHeader(k, v);
    res.setHeader('Content-Type', 'application/fhir+json; charset=utf-8');
    res.send(JSON.stringify(outcomeError.outcome));
  };
}

function toOutcomeError(err: any): OperationOutcomeError {
  if (err instanceof OperationOutcomeError) return err;
  if (err?.type === 'entity.too.large') {
    return fail(413, {
      code: 'too-costly',
      diagnostics: `The body is larger than this server accepts (${err.limit} bytes, HIE_MAX_BODY_BYTES)`,
      hieCode: 'HIE-HTTP-001',
    });
  }
  if (typeof err?.status === 'number' && err.status >= 400 && err.status < 500 && err.expose) {
    return fail(err.status, { code: 'invalid', diagnostics: String(err.message), hieCode: 'HIE-HTTP-002' });
  }
  if (isUnstorableText(err)) return unstorableText();
  if (isConnectionError(err)) {
    return fail(
      503,
      {
        severity: 'fatal',
        code: 'transient',
        diagnostics: 'The repository database is unavailable; retry later',
      },
      { 'Retry-After': '5' },
    );
  }
  return fail(500, { severity: 'fatal', code: 'exception', diagnostics: 'Internal server error' });
}

/** Error details for the log: message and code, never request content. */
function errorSummary(err: any): Record<string, unknown> {
  return { name: err?.name, message: err?.message, code: err?.code, stack: err?.stack };
}
