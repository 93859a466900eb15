import type { AuditEvent, AuditEventAgent, AuditEventEntity, Coding, Reference } from 'fhir/r4';

/**
 * Builders of AuditEvents after the IHE Basic Audit Log Patterns (BALP): a RESTful read, search
 * or operation by a user of an institution, about records and the person they belong to.
 * Plain data in, plain R4 out; nothing here reads a clock or a database.
 */

export const AUDIT_EVENT_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-event-type';
export const RESTFUL_INTERACTION = 'http://hl7.org/fhir/restful-interaction';
export const ACT_REASON = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
const SECURITY_ROLE_TYPE = 'http://terminology.hl7.org/CodeSystem/extra-security-role-type';
const ROLE_CLASS = 'http://terminology.hl7.org/CodeSystem/v3-RoleClass';
const SOURCE_TYPE = 'http://terminology.hl7.org/CodeSystem/security-source-type';
const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';

/** R4 AuditEvent.outcome: success, minor failure, serious failure, major failure. */
export type AuditOutcome = '0' | '4' | '8' | '12';

/** The http://hl7.org/fhir/restful-interaction codes the exchange records. */
export type RestInteraction =
  | 'read'
  | 'vread'
  | 'search-type'
  | 'search-system'
  | 'history-instance'
  | 'history-type'
  | 'history-system'
  | 'operation'
  | 'capabilities'
  | 'create'
  | 'update'
  | 'patch'
  | 'delete'
  | 'transaction'
  | 'batch';

/** Purpose of use (v3-ActReason): treatment, or break-the-glass when a grant was used. */
export type PurposeOfUse = 'TREAT' | 'BTG';

/** Who asked, from the verified token; undefined for a request that carried no valid token. */
export interface AuditActor {
  /** `fhirUser`, e.g. `Practitioner/p-12`; absent for system clients. */
  fhirUser?: string;
  /** Token `iss` and `sub`: who the caller is when there is no fhirUser. */
  issuer: string;
  subject: string;
  /** `hie_institution`. */
  institution?: string;
  /** `hie_roles`. */
  roles: readonly string[];
}

export interface RestAuditFacts {
  /** When it happened (instant, from the caller: the trail takes no clock of its own). */
  recorded: string;
  interaction: RestInteraction;
  /** `$summary`, `$everything` … for operations. */
  operation?: string;
  outcome: AuditOutcome;
  /** Short, fixed text for failures (e.g. `HTTP 403`); never request content. */
  outcomeDesc?: string;
  actor: AuditActor | undefined;
  purposeOfUse: PurposeOfUse;
  /** The requested records as references (`Observation/o1`), first the one the URL names. */
  records: readonly string[];
  /** Resource type of a search (`Observation`), when the request names one. */
  searchedType?: string;
  /** The search's query as recorded (already masked by the caller). */
  query?: string;
  /** Patients the request touched (`Patient/…` references): path, query and the answer's entries. */
  patients: readonly string[];
  /** The regional person (golden Patient) when known: a further entity. */
  person?: string;
  /** Who observed it: the exchange. */
  observer: Reference;
  /** The caller's network address, when recorded. */
  address?: string;
}

const ACTION: Record<RestInteraction, AuditEvent['action']> = {
  read: 'R',
  vread: 'R',
  'history-instance': 'R',
  'history-type': 'R',
  'history-system': 'R',
  capabilities: 'R',
  'search-type': 'E',
  'search-system': 'E',
  operation: 'E',
  transaction: 'E',
  batch: 'E',
  create: 'C',
  update: 'U',
  patch: 'U',
  delete: 'D',
};

/** HTTP status → R4 outcome: 2xx/3xx success, 4xx minor (the request was refused or wrong), 503 major, other 5xx serious. */
export function outcomeOfStatus(status: number): AuditOutcome {
  if (status < 400) return '0';
  if (status < 500) return '4';
  return status === 503 ? '12' : '8';
}

/** One BALP AuditEvent for one RESTful interaction on `/fhir`. */
export function restAuditEvent(f: RestAuditFacts): AuditEvent {
  const event: AuditEvent = {
    resourceType: 'AuditEvent',
    type: { system: AUDIT_EVENT_TYPE, code: 'rest', display: 'RESTful Operation' },
    subtype: [{ system: RESTFUL_INTERACTION, code: f.interaction }],
    action: ACTION[f.interaction],
    recorded: f.recorded,
    outcome: f.outcome,
    ...(f.outcomeDesc ? { outcomeDesc: f.outcomeDesc } : {}),
    agent: agents(f.actor, f.purposeOfUse, f.address),
    source: {
      observer: f.observer,
      type: [{ system: SOURCE_TYPE, code: '4', display: 'Application Server' }],
    },
  };
  const entities = entitiesOf(f);
  if (entities.length > 0) event.entity = entities;
  return event;
}

function agents(actor: AuditActor | undefined, purpose: PurposeOfUse, address?: string): AuditEventAgent[] {
  const purposeOfUse = [{ coding: [{ system: ACT_REASON, code: purpose }] }];
  const network = address ? { network: { address, type: '2' as const } } : {};
  if (!actor) {
    // A refused request without a valid token: the user is unknown, the event still says so.
    return [{ requestor: true, who: { display: 'unauthenticated' }, purposeOfUse, ...network }];
  }
  const user: AuditEventAgent = {
    type: { coding: [{ system: SECURITY_ROLE_TYPE, code: actor.fhirUser ? 'humanuser' : 'datacollector' }] },
    who: actor.fhirUser
      ? { reference: actor.fhirUser }
      : { identifier: { system: actor.issuer, value: actor.subject } },
    altId: actor.subject,
    requestor: true,
    purposeOfUse,
    ...network,
  };
  if (actor.roles.length > 0) user.role = actor.roles.map((r) => ({ coding: [{ code: r }] }));
  const list = [user];
  if (actor.institution) {
    list.push({
      type: { coding: [{ system: ROLE_CLASS, code: 'PROV', display: 'healthcare provider' }] },
      who: { reference: `Organization/${actor.institution}` },
      requestor: false,
    });
  }
  return list;
}

function entitiesOf(f: RestAuditFacts): AuditEventEntity[] {
  const out: AuditEventEntity[] = [];
  const seen = new Set<string>();
  for (const ref of f.records) {
    if (seen.has(ref)) continue;
    seen.add(ref);
    const isPatient = ref.startsWith('Patient/');
    out.push({
      what: { reference: ref },
      type: entityType(isPatient ? '1' : '2'),
      role: objectRole(isPatient ? '1' : '4'),
      ...(f.operation ? { detail: [{ type: 'operation', valueString: f.operation }] } : {}),
    });
  }
  if (f.query !== undefined) {
    out.push({
      type: entityType('2'),
      role: objectRole('24', 'Query'),
      query: Buffer.from(f.query, 'utf8').toString('base64'),
      ...(f.searchedType ? { description: f.searchedType } : {}),
    });
  }
  for (const ref of f.patients) {
    if (seen.has(ref)) continue;
    seen.add(ref);
    out.push({ what: { reference: ref }, type: entityType('1'), role: objectRole('1') });
  }
  if (f.person && !seen.has(f.person)) {
    out.push({
      what: { reference: f.person },
      type: entityType('1'),
      role: objectRole('1'),
      description: 'regional person (golden record)',
    });
  }
  return out;
}

function entityType(code: '1' | '2'): Coding {
  return { system: ENTITY_TYPE, code, display: code === '1' ? 'Person' : 'System Object' };
}

function objectRole(code: string, display?: string): Coding {
  return { system: OBJECT_ROLE, code, ...(display ? { display } : {}) };
}
