import type { Patient } from 'fhir/r4';
import type { AuditTrail } from '../../src/audit/audit-trail.ts';
import {
  adminClaims,
  clinicianClaims,
  institutionClaims,
  issueToken,
  personClaims,
  privacyOfficerClaims,
} from '../../src/auth/issue-token.ts';
import type { SigningKey } from '../../src/auth/signing-key.ts';
import type { Config } from '../../src/config/load-config.ts';
import { createIdentityLinker } from '../../src/identity/linker.ts';
import { loadMatchRules } from '../../src/identity/match/rules.ts';
import { NATIONAL_ID_SYSTEM, nationalIdCheckChar } from '../../src/identity/national-id.ts';
import { inProcessPatients } from '../../src/identity/workflow/in-process-patients.ts';
import type { TestPgServer } from '../support/postgres-servers.ts';
import type { TestDatabase } from '../support/test-database.ts';
import { startTestApp } from '../support/test-app.ts';

export const BASE = 'https://county-hie.org/fhir';
/** The care-relationship window of the fixture's app (HIE_CARE_RELATIONSHIP_DAYS). */
export const CARE_DAYS = 30;

export const CH = 'county-hospital';
export const TA = 'township-a';
/** Family-doctor contract with Zhang. */
export const VB = 'village-b';
/** Saw Zhang once, 60 days ago: outside the window. */
export const TC = 'township-c';
/** Zhang was referred here. */
export const TD = 'township-d';
/** On Zhang's care team. */
export const TE = 'township-e';
/** No relation to anyone (break-the-glass). */
export const TF = 'township-f';
/** Its only encounter with Zhang, two days ago, was entered in error. */
export const TG = 'township-g';
const INSTITUTIONS = [CH, TA, VB, TC, TD, TE, TF, TG];

const nid = (first17: string) => first17 + nationalIdCheckChar(first17);
export const ZHANG_NID = nid('33052219800101001');
export const LI_NID = nid('33052219750505002');
const SUN_NID = nid('33052219660303004');
/** Li's MRN at the county hospital (the fixture's MRN is the record id in capitals). */
export const LI_MRN = `${BASE}/sid/mrn/${CH}|LI-CH`;
/** A code only Li's records carry: a hit through it would reveal Li. */
export const LI_ONLY_CODE = `${BASE}/CodeSystem/local/${CH}/lab|LI-ONLY`;
export const GLUCOSE = 'http://loinc.org|2345-7';

type Json = Record<string, any>;

export interface Reply {
  status: number;
  headers: Headers;
  body: any;
}

export interface AccessCounty {
  publicUrl: string;
  fhirUrl: string;
  config: Config;
  signingKey: SigningKey;
  database: TestDatabase;
  trail: AuditTrail;
  admin: string;
  /** A clinician of the institution (practitioner `dr-{institution}`). */
  clinician(institution: string, claims?: Json): Promise<string>;
  privacyOfficer(institution: string): Promise<string>;
  person(patientId: string): Promise<string>;
  institution(id: string): Promise<string>;
  /** Signs any claims with the app's key (ttl in seconds, negative = already expired). */
  sign(claims: Json, ttl?: number): Promise<string>;
  /** A request under the app's root (`/fhir/…`, `/access/…`, `/identity/…`). */
  call(
    token: string | undefined,
    path: string,
    init?: { method?: string; body?: unknown; headers?: Json },
  ): Promise<Reply>;
  /** The golden Patient id of a record. */
  personOf(recordId: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * The real app (build-app with its audit, policy and identity) on a database of its own, with a
 * small county written the way production writes it: institutions' records through `/fhir` with
 * institution tokens (so `meta.source` names them), every Patient linked by the identity linker
 * the worker uses (so `identity_record` rows and golden records exist), consents by the operator.
 *
 * Persons: Zhang (records at the county hospital and township A, one person), Li (county hospital
 * only — the hidden person for township A), Wang (opted out), Zhao (denies township A as
 * recipient), Sun (withholds the county hospital's records as source).
 */
export async function startAccessCounty(server: TestPgServer): Promise<AccessCounty> {
  const app = await startTestApp(server, { HIE_CARE_RELATIONSHIP_DAYS: String(CARE_DAYS) });
  const { publicUrl, signingKey, database } = app;
  const sign = (claims: Json, ttl = 3600) => issueToken(signingKey, claims, ttl);
  const call: AccessCounty['call'] = async (token, p, init = {}) => {
    const res = await fetch(`${publicUrl}${p}`, {
      method: init.method ?? 'GET',
      headers: {
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
        ...(init.body !== undefined ? { 'Content-Type': 'application/fhir+json' } : {}),
        ...(init.headers ?? {}),
      },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  };
  const county: AccessCounty = {
    publicUrl,
    fhirUrl: app.fhirUrl,
    config: app.config,
    signingKey,
    database,
    trail: app.audit,
    admin: await sign(adminClaims(publicUrl)),
    clinician: (inst, claims = {}) => sign({ ...clinicianClaims(publicUrl, inst, `dr-${inst}`), ...claims }),
    privacyOfficer: (inst) => sign(privacyOfficerClaims(publicUrl, inst)),
    person: (id) => sign(personClaims(publicUrl, id)),
    institution: (id) => sign(institutionClaims(publicUrl, id)),
    sign,
    call,
    personOf: async (id) =>
      (await database.db.query<{ p: string }>('SELECT hie_person_of($1) AS p', [id])).rows[0]!.p,
    close: () => app.close(),
  };
  await writeCounty(county, app.repo);
  await app.audit.flush();
  return county;
}

/** Days before now as an instant: the policy compares with the database's clock, so the fixture must too. */
const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();

async function writeCounty(c: AccessCounty, repo: Parameters<typeof inProcessPatients>[0]): Promise<void> {
  const put = async (token: string, resource: Json) => {
    const r = await c.call(token, `/fhir/${resource.resourceType}/${resource.id}`, {
      method: 'PUT',
      body: resource,
    });
    if (r.status !== 201 && r.status !== 200)
      throw new Error(
        `fixture ${resource.resourceType}/${resource.id}: ${r.status} ${JSON.stringify(r.body)}`,
      );
    return r.body as Json;
  };
  for (const id of INSTITUTIONS) {
    await put(c.admin, { resourceType: 'Organization', id, name: id });
    await put(c.admin, { resourceType: 'Practitioner', id: `dr-${id}`, name: [{ text: `Doctor of ${id}` }] });
  }
  const inst = Object.fromEntries(
    await Promise.all(INSTITUTIONS.map(async (i) => [i, await c.institution(i)])),
  );
  const src = (i: string, archive: string) => ({ source: `${BASE}/institution/${i}#${archive}` });

  // Patients, each written by its institution, then linked as the worker links them.
  const patient = (
    i: string,
    id: string,
    name: string,
    birthDate: string,
    gender: string,
    nationalId?: string,
  ) => ({
    resourceType: 'Patient',
    id,
    meta: src(i, `p-${id}`),
    identifier: [
      { system: `${BASE}/sid/mrn/${i}`, value: id.toUpperCase() },
      ...(nationalId ? [{ system: NATIONAL_ID_SYSTEM, value: nationalId }] : []),
    ],
    name: [{ text: name, family: name.slice(0, 1), given: [name.slice(1)] }],
    gender,
    birthDate,
  });
  const patients: [string, Json][] = [
    [CH, patient(CH, 'zhang-ch', '张建国', '1980-01-01', 'male', ZHANG_NID)],
    // Township A's legacy system sends no national ID: the record is linked by hand below.
    [TA, patient(TA, 'zhang-ta', '张建国', '1980-01-01', 'male')],
    [CH, patient(CH, 'li-ch', '李秀兰', '1975-05-05', 'female', LI_NID)],
    [TA, patient(TA, 'wang-ta', '王芳', '1990-02-02', 'female')],
    [TA, patient(TA, 'zhao-ta', '赵磊', '1985-03-03', 'male')],
    [TA, patient(TA, 'sun-ta', '孙丽', '1966-03-03', 'female', SUN_NID)],
    [CH, patient(CH, 'sun-ch', '孙丽', '1966-03-03', 'female', SUN_NID)],
  ];
  const linker = createIdentityLinker({
    db: c.database.db,
    rules: loadMatchRules(),
    canonicalBase: BASE,
    repository: inProcessPatients(repo),
  });
  for (const [i, p] of patients) {
    const stored = await put(inst[i], p);
    await linker.linkWritten([{ ref: `Patient/${p.id}`, patient: stored as Patient, institution: i }]);
  }
  // An administrator links Zhang's township record to his person, as the review workflow does.
  const link = await c.call(c.admin, '/identity/links', {
    method: 'POST',
    body: { source: 'Patient/zhang-ta', target: 'Patient/zhang-ch' },
  });
  if (link.status !== 200) throw new Error(`identity link: ${link.status} ${JSON.stringify(link.body)}`);
  for (const [a, b] of [
    ['zhang-ta', 'zhang-ch'],
    ['sun-ta', 'sun-ch'],
  ] as const) {
    if ((await c.personOf(a)) !== (await c.personOf(b)))
      throw new Error(`fixture: ${a} and ${b} are not one person`);
  }

  const encounter = (i: string, id: string, subject: string, start: string, end?: string) => ({
    resourceType: 'Encounter',
    id,
    meta: src(i, `e-${id}`),
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    subject: { reference: `Patient/${subject}` },
    serviceProvider: { reference: `Organization/${i}` },
    period: { start, ...(end ? { end } : {}) },
  });
  const observation = (i: string, id: string, subject: string, codes: string[], extra: Json = {}) => ({
    resourceType: 'Observation',
    id,
    meta: src(i, `o-${id}`),
    status: 'final',
    code: { coding: codes.map((s) => ({ system: s.split('|')[0], code: s.split('|')[1] })) },
    subject: { reference: `Patient/${subject}` },
    effectiveDateTime: daysAgo(3),
    valueQuantity: { value: 6.1, unit: 'mmol/L', system: 'http://unitsofmeasure.org', code: 'mmol/L' },
    ...extra,
  });
  const writes: [string, Json][] = [
    // Zhang: township A saw him two days ago; the county hospital ten days ago.
    [TA, encounter(TA, 'enc-zhang-ta', 'zhang-ta', daysAgo(2))],
    [CH, encounter(CH, 'enc-zhang-ch', 'zhang-ch', daysAgo(10))],
    // Township C's only encounter lies beyond the care-relationship window.
    [TC, encounter(TC, 'enc-zhang-tc-old', 'zhang-ch', daysAgo(60), daysAgo(59))],
    [TG, { ...encounter(TG, 'enc-zhang-tg-error', 'zhang-ch', daysAgo(2)), status: 'entered-in-error' }],
    [CH, observation(CH, 'obs-zhang-ch', 'zhang-ch', [GLUCOSE])],
    [TA, observation(TA, 'obs-zhang-ta', 'zhang-ta', ['http://loinc.org|8480-6'])],
    [
      CH,
      {
        resourceType: 'Condition',
        id: 'cond-zhang-psy',
        meta: {
          ...src(CH, 'c-psy'),
          security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'PSY' }],
        },
        clinicalStatus: {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }],
        },
        code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10', code: 'F32.9' }] },
        subject: { reference: 'Patient/zhang-ch' },
      },
    ],
    // Referral from the county hospital to township D.
    [
      CH,
      {
        resourceType: 'ServiceRequest',
        id: 'ref-zhang-td',
        meta: src(CH, 'sr-1'),
        status: 'active',
        intent: 'order',
        category: [{ coding: [{ system: 'http://snomed.info/sct', code: '3457005' }] }],
        subject: { reference: 'Patient/zhang-ch' },
        performer: [{ reference: `Organization/${TD}` }],
      },
    ],
    // Village B holds Zhang's family-doctor contract.
    [
      VB,
      {
        resourceType: 'EpisodeOfCare',
        id: 'contract-zhang-vb',
        meta: src(VB, 'eoc-1'),
        status: 'active',
        type: [{ coding: [{ system: `${BASE}/CodeSystem/episode-type`, code: 'family-doctor-contract' }] }],
        patient: { reference: 'Patient/zhang-ch' },
        managingOrganization: { reference: `Organization/${VB}` },
        careManager: { reference: `Practitioner/dr-${VB}` },
        period: { start: daysAgo(100) },
      },
    ],
    // Township E is on Zhang's care team.
    [
      CH,
      {
        resourceType: 'CareTeam',
        id: 'team-zhang',
        meta: src(CH, 'ct-1'),
        status: 'active',
        subject: { reference: 'Patient/zhang-ch' },
        participant: [{ member: { reference: `Organization/${TE}` } }],
      },
    ],
    // Li: the county hospital only. Her Observation names Zhang as its focus (a _revinclude
    // from Zhang must not bring it); township A's own Observation on Zhang names Li as focus
    // (an _include or a chain through it must not bring or match Li).
    [CH, encounter(CH, 'enc-li-ch', 'li-ch', daysAgo(5))],
    [
      CH,
      observation(CH, 'obs-li-ch', 'li-ch', [GLUCOSE, LI_ONLY_CODE], {
        focus: [{ reference: 'Patient/zhang-ta' }],
      }),
    ],
    [
      TA,
      observation(TA, 'obs-ta-focus-li', 'zhang-ta', ['http://loinc.org|8302-2'], {
        focus: [{ reference: 'Patient/li-ch' }],
      }),
    ],
    // Wang, Zhao and Sun were all seen at township A (Zhao also at township E, Sun also at the county hospital).
    [TA, encounter(TA, 'enc-wang-ta', 'wang-ta', daysAgo(1))],
    [TA, observation(TA, 'obs-wang-ta', 'wang-ta', [GLUCOSE])],
    [TA, encounter(TA, 'enc-zhao-ta', 'zhao-ta', daysAgo(1))],
    [TE, encounter(TE, 'enc-zhao-te', 'zhao-ta', daysAgo(1))],
    [TA, observation(TA, 'obs-zhao-ta', 'zhao-ta', [GLUCOSE])],
    [TA, encounter(TA, 'enc-sun-ta', 'sun-ta', daysAgo(1))],
    [CH, encounter(CH, 'enc-sun-ch', 'sun-ch', daysAgo(1))],
    [TA, observation(TA, 'obs-sun-ta', 'sun-ta', [GLUCOSE])],
    [CH, observation(CH, 'obs-sun-ch', 'sun-ch', [GLUCOSE])],
  ];
  for (const [i, r] of writes) await put(inst[i], r);

  const consent = (id: string, patientId: string, provision: Json) => ({
    resourceType: 'Consent',
    id,
    status: 'active',
    scope: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }],
    },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: `Patient/${patientId}` },
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    provision,
  });
  const actor = (role: 'IRCP' | 'CST', org: string) => ({
    role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: role }] },
    reference: { reference: `Organization/${org}` },
  });
  // Wang opted out entirely: a top-level deny naming no one.
  await put(c.admin, consent('consent-wang', 'wang-ta', { type: 'deny' }));
  // Zhao shares with everyone but township A (as recipient).
  await put(
    c.admin,
    consent('consent-zhao', 'zhao-ta', {
      type: 'permit',
      provision: [{ type: 'deny', actor: [actor('IRCP', TA)] }],
    }),
  );
  // Sun withholds what the county hospital recorded (as source).
  await put(
    c.admin,
    consent('consent-sun', 'sun-ta', {
      type: 'permit',
      provision: [{ type: 'deny', actor: [actor('CST', CH)] }],
    }),
  );
}
