import type { AuditEvent, Reference } from 'fhir/r4';
import type { Request, RequestHandler, Response } from 'express';
import type { AuthContext } from '../auth/verify-token.ts';
import { mask, type Logger } from '../kernel/logger.ts';
import { issue, outcome } from '../kernel/outcomes.ts';
import { outcomeOfStatus, restAuditEvent, type AuditActor, type PurposeOfUse } from './audit-event.ts';
import type { AuditTrail } from './audit-trail.ts';
import { patientsInBody, patientsInQuery, restRequestFacts, type RestRequestFacts } from './rest-request.ts';

/**
 * What later stages of a request may tell the audit through `res.locals.audit`: the policy knows
 * whether a break-the-glass grant was used and which regional person the records belong to.
 */
export interface AuditHints {
  purposeOfUse?: PurposeOfUse;
  /** The golden Patient, e.g. `Patient/…`. */
  person?: string;
  /**
   * The patients the answer was about, when the handler knows them better than a scan: given, the
   * answer's body is not scanned (a person's summary names their records here instead of having
   * its megabyte searched for references).
   */
  patients?: string[];
}

export interface AuditMiddlewareOptions {
  /** The path the FHIR API is mounted at (default `/fhir`). */
  prefix?: string;
  /** Who observes: the exchange (default display "County HIE"). */
  observer?: Reference;
  /** The golden person of a patient record, when the caller does not say (may be omitted). */
  personOf?: (patient: string) => Promise<string | undefined>;
  /** Debug lines say what was audited, by ids and masked query only. */
  logger?: Logger;
  /** Patients taken from one answer at most (default 100). */
  maxPatients?: number;
  /** Writes, when not refused, are left out by default: the worker's every write would double the store's work. */
  auditWrites?: boolean;
}

/** Search parameters whose values are personal data: recorded masked, never as typed. */
const PERSONAL_PARAMS =
  /^(name|family|given|phonetic|telecom|phone|email|address(-[a-z]+)?|identifier|birthdate|mothersMaidenName)(:.+)?$/;

/** Bodies larger than this are not scanned for patients (the URL and hints still count). */
const MAX_SCANNED_BODY = 8 * 1024 * 1024;

/**
 * Records every `/fhir` read, search, history and operation — and every refused request
 * (401/403), whatever it was — as an AuditEvent, once the answer has been sent, so the audit
 * adds no latency. Mount it BEFORE authentication so that a 401 is seen too: it reads who asked
 * (`res.locals.auth`) only when the response finishes.
 */
export function auditMiddleware(trail: AuditTrail, opts: AuditMiddlewareOptions = {}): RequestHandler {
  const prefix = opts.prefix ?? '/fhir';
  const observer = opts.observer ?? { display: 'County HIE' };
  const maxPatients = opts.maxPatients ?? 100;
  return (req, res, next) => {
    const segments = fhirSegments(req.originalUrl, prefix);
    const facts = segments && restRequestFacts(req.method, segments);
    if (!facts) return next();
    const query = queryPairs(req.originalUrl);
    const recorded = new Date().toISOString();
    let body: string | Buffer | undefined;
    const send = res.send.bind(res);
    res.send = (chunk?: unknown) => {
      // Kept as sent: bytes are decoded only if the event has to scan them (most answers name
      // their patients in hints, and a compressed answer is never scanned).
      if (typeof chunk === 'string' || (Buffer.isBuffer(chunk) && chunk.length <= MAX_SCANNED_BODY))
        body = chunk;
      return send(chunk);
    };
    res.on('finish', () => {
      const status = res.statusCode;
      const refused = status === 401 || status === 403;
      if (!refused && !opts.auditWrites && isWrite(facts) && !readsInBundle(facts, req, res)) return;
      trail.record(buildEvent(req, res, { facts, query, recorded, body, observer, maxPatients, opts }));
    });
    next();
  };
}

interface Captured {
  facts: RestRequestFacts;
  query: [string, string][];
  recorded: string;
  body: string | Buffer | undefined;
  observer: Reference;
  maxPatients: number;
  opts: AuditMiddlewareOptions;
}

async function buildEvent(req: Request, res: Response, c: Captured): Promise<AuditEvent> {
  const { facts, opts } = c;
  const status = res.statusCode;
  const hints = (res.locals.audit ?? {}) as AuditHints;
  const patients = new Set([
    ...(facts.record?.startsWith('Patient/') ? [facts.record] : []),
    ...patientsInQuery(facts.resourceType, c.query),
    ...(hints.patients ?? []),
  ]);
  // Only an answer that was given says whose records it held; an error body names no patient.
  // A handler that named the answer's patients spares the scan.
  if (
    status < 300 &&
    hints.patients === undefined &&
    c.body !== undefined &&
    isJson(res) &&
    !res.getHeader('Content-Encoding')
  ) {
    const text = typeof c.body === 'string' ? c.body : c.body.toString('utf8');
    for (const p of patientsInBody(text, c.maxPatients)) patients.add(p);
  }
  let person = hints.person;
  try {
    if (!person && opts.personOf && patients.size === 1) person = await opts.personOf([...patients][0]!);
  } catch {
    // The person is a further detail; the event is written without it.
  }
  const isSearch = facts.interaction === 'search-type' || facts.interaction === 'search-system';
  const maskedQuery = isSearch ? maskQuery(c.query) : undefined;
  const event = restAuditEvent({
    recorded: c.recorded,
    interaction: facts.interaction,
    ...(facts.operation ? { operation: facts.operation } : {}),
    outcome: outcomeOfStatus(status),
    ...(status >= 400 ? { outcomeDesc: `HTTP ${status}` } : {}),
    actor: actorOf(res.locals.auth as AuthContext | undefined),
    purposeOfUse: hints.purposeOfUse ?? 'TREAT',
    records: facts.record ? [facts.record] : [],
    ...(facts.resourceType && isSearch ? { searchedType: facts.resourceType } : {}),
    ...(maskedQuery !== undefined ? { query: maskedQuery } : {}),
    patients: [...patients].slice(0, c.maxPatients),
    ...(person ? { person } : {}),
    observer: c.observer,
    ...(req.socket.remoteAddress ? { address: req.socket.remoteAddress } : {}),
  });
  opts.logger?.debug(
    {
      interaction: facts.interaction,
      type: facts.resourceType,
      status,
      records: facts.record ? 1 : 0,
      patients: patients.size,
      query: maskedQuery,
    },
    'audit event',
  );
  return event;
}

/**
 * Answers 405 to any change of an AuditEvent through `/fhir` (create, update, patch, delete,
 * conditional or not): the trail is written by the exchange alone. Searching stays open.
 */
export function auditEventReadOnly(opts: { prefix?: string } = {}): RequestHandler {
  const prefix = opts.prefix ?? '/fhir';
  return (req, res, next) => {
    const segments = fhirSegments(req.originalUrl, prefix);
    if (segments?.[0] !== 'AuditEvent') return next();
    const search = req.method === 'POST' && segments[1] === '_search';
    if (!['POST', 'PUT', 'PATCH', 'DELETE'].includes(req.method) || search) return next();
    res
      .status(405)
      .setHeader('Allow', 'GET, HEAD')
      .setHeader('Content-Type', 'application/fhir+json; charset=utf-8')
      .send(
        JSON.stringify(
          outcome(
            issue({
              code: 'not-supported',
              diagnostics: `AuditEvent is read-only: ${req.method} is not allowed (the exchange alone writes the audit trail)`,
              hieCode: 'HIE-AUDIT-405',
            }),
          ),
        ),
      );
  };
}

function isWrite(facts: RestRequestFacts): boolean {
  return ['create', 'update', 'patch', 'delete', 'transaction', 'batch'].includes(facts.interaction);
}

/** An entry of a batch or transaction that reads (`GET`/`HEAD`): its answer shows records. */
const READ_ENTRY = /"method"\s*:\s*"(?:GET|HEAD)"/;

/**
 * A batch or transaction posted to the base that reads records (a batch of searches) shows
 * personal data as a search does, so it is audited like one — except the exchange's own worker,
 * whose look-ups before each write disclose nothing to anyone (and would double the store's work).
 */
function readsInBundle(facts: RestRequestFacts, req: Request, res: Response): boolean {
  if (facts.interaction !== 'transaction' || !Buffer.isBuffer(req.body)) return false;
  if ((res.locals.auth as AuthContext | undefined)?.roles.has('worker')) return false;
  return READ_ENTRY.test(req.body.toString('utf8'));
}

function isJson(res: Response): boolean {
  return /json/i.test(String(res.getHeader('content-type') ?? ''));
}

function actorOf(auth: AuthContext | undefined): AuditActor | undefined {
  if (!auth) return undefined;
  return {
    issuer: auth.issuer,
    subject: auth.subject,
    roles: [...auth.roles].sort(),
    ...(auth.fhirUser ? { fhirUser: auth.fhirUser } : {}),
    ...(auth.institution ? { institution: auth.institution } : {}),
  };
}

/** Path segments after the prefix, decoded; undefined when the URL is not under it. */
function fhirSegments(originalUrl: string, prefix: string): string[] | undefined {
  const pathname = originalUrl.split('?', 1)[0]!;
  if (pathname !== prefix && !pathname.startsWith(`${prefix}/`)) return undefined;
  try {
    return pathname.slice(prefix.length).split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    return undefined;
  }
}

function queryPairs(originalUrl: string): [string, string][] {
  const q = originalUrl.indexOf('?');
  return q < 0 ? [] : [...new URLSearchParams(originalUrl.slice(q + 1)).entries()];
}

/**
 * The query as recorded: personal values masked, the rest as sent. Identifiers keep their system
 * and the contract's mask (`332522********123X`); names, phones, addresses and birth dates are
 * replaced whole, since keeping ten of a phone number's eleven digits would not hide it.
 */
export function maskQuery(query: readonly [string, string][]): string {
  const params = new URLSearchParams();
  for (const [k, v] of query) {
    const personal = PERSONAL_PARAMS.exec(k);
    if (!personal) params.append(k, v);
    else if (personal[1] === 'identifier') params.append(k, v.split(',').map(maskIdentifier).join(','));
    else
      params.append(
        k,
        v
          .split(',')
          .map(() => '***')
          .join(','),
      );
  }
  return params.toString();
}

/** `system|value` keeps the system (not personal) and masks the value. */
function maskIdentifier(v: string): string {
  const bar = v.lastIndexOf('|');
  return bar < 0 ? mask(v) : `${v.slice(0, bar + 1)}${mask(v.slice(bar + 1))}`;
}
