import type { AuditEvent } from 'fhir/r4';
import type { RequestHandler } from 'express';
import { outcomeOfStatus, restAuditEvent, type PurposeOfUse } from '../audit/audit-event.ts';
import type { AuthContext } from '../auth/verify-token.ts';

/** Where the access routes write their AuditEvents (the app's AuditTrail). */
export interface AccessAuditSink {
  record(event: AuditEvent | Promise<AuditEvent | undefined>): void;
}

/** What a handler of `/access/*` tells its AuditEvent (`res.locals.audit`). */
export interface AccessAuditHints {
  purposeOfUse?: PurposeOfUse;
  /** The record the request named, e.g. `Patient/…`. */
  record?: string;
  /** The golden Patient. */
  person?: string;
}

/**
 * Audits the access routes as the `/fhir` middleware audits the repository (that middleware sees
 * only `/fhir`): a break-the-glass request — granted or refused — with purpose of use BTG, and
 * every look at an access history or at the grants, once the answer is sent. Mounted before
 * authentication, so a request refused for its token (401) is audited too.
 */
export function auditAccessRoutes(sink: AccessAuditSink): RequestHandler {
  return (req, res, next) => {
    const operation = operationOf(req.method, req.path);
    if (!operation) return next();
    const recorded = new Date().toISOString();
    res.on('finish', () => {
      const hints = (res.locals.audit ?? {}) as AccessAuditHints;
      const auth = res.locals.auth as AuthContext | undefined;
      const status = res.statusCode;
      sink.record(
        restAuditEvent({
          recorded,
          interaction: 'operation',
          operation,
          outcome: outcomeOfStatus(status),
          ...(status >= 400 ? { outcomeDesc: `HTTP ${status}` } : {}),
          actor: auth && {
            issuer: auth.issuer,
            subject: auth.subject,
            roles: [...auth.roles].sort(),
            ...(auth.fhirUser ? { fhirUser: auth.fhirUser } : {}),
            ...(auth.institution ? { institution: auth.institution } : {}),
          },
          // A break-the-glass request refused before its handler ran (401) is still one.
          purposeOfUse: hints.purposeOfUse ?? (operation === 'break-glass' ? 'BTG' : 'TREAT'),
          records: hints.record ? [hints.record] : [],
          patients: [],
          ...(hints.person ? { person: hints.person } : {}),
          observer: { display: 'County HIE' },
          ...(req.socket.remoteAddress ? { address: req.socket.remoteAddress } : {}),
        }),
      );
    });
    next();
  };
}

function operationOf(method: string, path: string): string | undefined {
  if (path === '/access/break-glass') return method === 'POST' ? 'break-glass' : 'break-glass-list';
  if (path === '/access/history') return 'access-history';
  return undefined;
}
