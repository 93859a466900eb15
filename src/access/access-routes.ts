import express, { Router, type Response } from 'express';
import type { AuthContext } from '../auth/verify-token.ts';
import type { Queryable } from '../db/database.ts';
import { uuidv7 } from '../kernel/ids.ts';
import { badRequest, forbidden, notFound, unauthorized } from '../kernel/outcomes.ts';
import { callerOf, type Caller } from './caller.ts';
import type { PolicySettings } from './policy-settings.ts';

export interface AccessRoutesDeps {
  db: Queryable;
  settings: PolicySettings;
  maxBodyBytes?: number;
  clock?: () => Date;
}

type Json = Record<string, any>;

const ID = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * Break-the-glass and access history (CONTRACTS "Access, consent, audit"):
 * - `POST /access/break-glass {patient, reason}`: a clinician opens a person they have no care
 *   relationship with, for HIE_BTG_MINUTES; audited with purpose of use BTG;
 * - `GET /access/break-glass?institution=`: the grants, for that institution's privacy officer
 *   and administrators;
 * - `GET /access/history?patient=`: who looked at a person, when, from where and why — for the
 *   person's own token, administrators, and privacy officers (their institution's looks only).
 */
export function accessRoutes(deps: AccessRoutesDeps): Router {
  const router = Router();
  const clock = deps.clock ?? (() => new Date());
  const json = express.json({
    type: ['application/json', 'application/fhir+json'],
    limit: deps.maxBodyBytes ?? 100_000,
  });

  router.post('/access/break-glass', json, async (req, res) => {
    // Audited as break-the-glass whatever the answer: a refused attempt matters as much.
    res.locals.audit = { purposeOfUse: 'BTG' };
    const caller = callerFrom(res);
    // The clinician role itself: a privacy officer (also a 'clinician' kind of caller, for reading
    // by care relationship) reviews grants and must not grant itself one.
    if (
      caller.kind !== 'clinician' ||
      !caller.institution ||
      !(res.locals.auth as AuthContext).roles.has('clinician')
    )
      throw forbidden(
        'Break-the-glass is for clinicians of a member institution (a token with the clinician role)',
      );
    const { patient, reason } = readGrantRequest(req.body);
    res.locals.audit = { purposeOfUse: 'BTG', record: `Patient/${patient}` };
    const found = await deps.db.query<{ person: string; records: string[] }>(
      `SELECT hie_person_of(id) AS person, hie_person_records(hie_person_of(id)) AS records
         FROM resource WHERE resource_type = 'Patient' AND id = $1 AND NOT deleted`,
      [patient],
    );
    const row = found.rows[0];
    if (!row) throw notFound(`Patient/${patient} is not known: a grant names an existing record`);
    res.locals.audit = { purposeOfUse: 'BTG', record: `Patient/${patient}`, person: `Patient/${row.person}` };
    const consent = await deps.db.query<{ permits: boolean }>(
      `SELECT hie_consent_permits($1::text[], $2, $3) AS permits`,
      [row.records, caller.institution, deps.settings.consentDefault === 'permit'],
    );
    if (!consent.rows[0]?.permits)
      throw forbidden(
        `The person's consent excludes ${caller.institution}; break-the-glass does not override a person's consent`,
      );
    const granted = clock();
    const expires = new Date(granted.getTime() + deps.settings.btgMinutes * 60_000);
    const id = uuidv7(granted.getTime());
    await deps.db.query(
      `INSERT INTO access_grant (id, person_id, patient_ref, issuer, subject, fhir_user, institution, reason, granted_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        id,
        row.person,
        `Patient/${patient}`,
        caller.issuer,
        caller.subject,
        fhirUserOf(res),
        caller.institution,
        reason,
        granted,
        expires,
      ],
    );
    res.status(201).json({
      id,
      patient: `Patient/${patient}`,
      person: `Patient/${row.person}`,
      institution: caller.institution,
      reason,
      granted: granted.toISOString(),
      expires: expires.toISOString(),
    });
  });

  router.get('/access/break-glass', async (req, res) => {
    const caller = callerFrom(res);
    const asked = typeof req.query.institution === 'string' ? req.query.institution : undefined;
    const institution = institutionInView(caller, asked, 'Break-the-glass grants');
    const r = await deps.db.query<Json>(
      `SELECT id, patient_ref, person_id, subject, fhir_user, institution, reason, granted_at, expires_at
         FROM access_grant WHERE ($1::text IS NULL OR institution = $1)
        ORDER BY granted_at DESC, id DESC LIMIT 500`,
      [institution ?? null],
    );
    const now = clock().getTime();
    res.json({
      items: r.rows.map((g) => ({
        id: g.id,
        patient: g.patient_ref,
        person: `Patient/${g.person_id}`,
        clinician: g.fhir_user ?? g.subject,
        institution: g.institution,
        reason: g.reason,
        granted: new Date(g.granted_at).toISOString(),
        expires: new Date(g.expires_at).toISOString(),
        active: new Date(g.expires_at).getTime() > now,
      })),
    });
  });

  router.get('/access/history', async (req, res) => {
    const caller = callerFrom(res);
    const patient = typeof req.query.patient === 'string' ? req.query.patient.replace(/^Patient\//, '') : '';
    if (!ID.test(patient))
      throw badRequest('patient= names the person (any of their Patient records)', 'patient');
    const person = (
      await deps.db.query<{ person: string; own: boolean }>(
        `SELECT hie_person_of($1) AS person, hie_person_of($1) = hie_person_of($2) AS own`,
        [patient, caller.patient ?? null],
      )
    ).rows[0]!;
    res.locals.audit = { record: `Patient/${patient}`, person: `Patient/${person.person}` };
    let agentInstitution: string | undefined;
    if (caller.kind === 'person') {
      if (!person.own) throw forbidden('A person token reads only its own person’s access history');
    } else if (caller.privacyOfficer && caller.institution) {
      agentInstitution = caller.institution;
    } else if (caller.kind !== 'full') {
      throw forbidden('Access history is for the person, privacy officers and administrators');
    }
    const r = await deps.db.query<{ content: Json }>(
      `SELECT a.content FROM resource a
        WHERE a.resource_type = 'AuditEvent' AND NOT a.deleted
          AND a.compartments && hie_person_records($1)
          AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM sp_reference x WHERE x.resource_type = 'AuditEvent'
                AND x.resource_id = a.id AND x.code = 'agent' AND x.target_type = 'Organization' AND x.target_id = $2))
        ORDER BY a.last_updated DESC, a.id DESC LIMIT 500`,
      [person.person, agentInstitution ?? null],
    );
    res.json({ person: `Patient/${person.person}`, items: r.rows.map((x) => historyItem(x.content)) });
  });

  return router;
}

function callerFrom(res: Response): Caller {
  const auth = res.locals.auth as AuthContext | undefined;
  if (!auth) throw unauthorized('A bearer token is required', 'Bearer realm="county-hie"');
  return callerOf(auth);
}

function fhirUserOf(res: Response): string | null {
  return (res.locals.auth as AuthContext).fhirUser ?? null;
}

function readGrantRequest(body: unknown): { patient: string; reason: string } {
  const b = (body ?? {}) as Json;
  const patient = typeof b.patient === 'string' ? b.patient.replace(/^Patient\//, '') : '';
  if (!ID.test(patient))
    throw badRequest('patient must name a Patient record ("Patient/{id}" or "{id}")', 'patient');
  const reason = typeof b.reason === 'string' ? b.reason.trim() : '';
  // Four characters: "急诊抢救" is a complete reason; an empty or token word is not.
  if ([...reason].length < 4)
    throw badRequest(
      'reason is required: say why the record must be opened (at least 4 characters)',
      'reason',
    );
  if (reason.length > 1000) throw badRequest('reason is at most 1000 characters', 'reason');
  return { patient, reason };
}

/** Administrators see every institution (or the one asked); privacy officers their own only. */
function institutionInView(caller: Caller, asked: string | undefined, what: string): string | undefined {
  if (caller.kind === 'full') return asked;
  if (caller.privacyOfficer && caller.institution) {
    if (asked !== undefined && asked !== caller.institution)
      throw forbidden(`${what} of ${asked} are for that institution's privacy officer`);
    return caller.institution;
  }
  throw forbidden(`${what} are for privacy officers (their institution) and administrators`);
}

/** One look at the person's records, as the person reads it. */
function historyItem(event: Json): Json {
  const agents: Json[] = event.agent ?? [];
  const user = agents.find((a) => a.requestor) ?? agents[0];
  const org = agents.find((a) => /^Organization\//.test(a.who?.reference ?? ''));
  const purpose = user?.purposeOfUse?.[0]?.coding?.[0]?.code;
  return {
    when: event.recorded,
    who: user?.who?.reference ?? user?.who?.display ?? user?.altId,
    institution: org?.who?.reference?.replace(/^Organization\//, ''),
    purposeOfUse: purpose,
    action: event.subtype?.map((s: Json) => s.code).join(' ') ?? event.type?.code,
    outcome: event.outcome,
    records: (event.entity ?? []).map((e: Json) => e.what?.reference).filter(Boolean),
  };
}
