import type { RequestHandler } from 'express';
import { fail } from '../../kernel/outcomes.ts';

/**
 * A NUL character (`%00`) in the path or a query value: no FHIR id, identifier, search value or
 * archive id can hold one, and PostgreSQL refuses it in text, so past this point it would only
 * surface as a 500 from whichever query first received it. It can only arrive percent-encoded (a
 * raw NUL in the request line is refused by Node's parser, see client-error.ts), so one look at
 * the raw URL finds it, and the answer names where it is.
 */
export function refuseNulInUrl(): RequestHandler {
  return (req, _res, next) => {
    const url = req.originalUrl;
    if (!url.includes('%00')) return next();
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    let where = 'the path';
    if (!path.includes('%00')) {
      const names = [...new URLSearchParams(url.slice(q + 1))]
        .filter(([, v]) => v.includes('\0'))
        .map(([k]) => k);
      where = names.length > 0 ? `the value of ${names.join(', ')}` : 'a query parameter name';
    }
    next(
      fail(400, {
        code: 'invalid',
        diagnostics: `The URL holds a NUL character (%00) in ${where}; no id or search value may contain one`,
        hieCode: 'HIE-HTTP-005',
        ...(where.startsWith('the value of ')
          ? { expression: where.slice('the value of '.length).split(', ') }
          : {}),
      }),
    );
  };
}
