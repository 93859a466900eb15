import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { adminClaims, clinicianClaims } from '../../src/auth/issue-token.ts';
import { hs256Token, nowSeconds, unsignedToken } from '../auth/jwt-by-hand.ts';
import { auditTrailOf, type AuditProbe } from './audit-probe.ts';
import {
  CARE_DAYS,
  CH,
  startAccessCounty,
  TA,
  TC,
  TD,
  TE,
  TF,
  TG,
  VB,
  type AccessCounty,
} from './county-fixture.ts';

type Json = Record<string, any>;

/**
 * The authorisation matrix of issue 7 against the real app: for each caller and each reason the
 * policy has, the answer (status, OperationOutcome or WWW-Authenticate) AND the AuditEvent that
 * the request left (outcome, who, for which institution, purpose of use, which record, which
 * person).
 */
describe('the access policy: who may read a record', () => {
  let c: AccessCounty;
  let audit: AuditProbe;
  let zhang: string;

  beforeAll(async () => {
    c = await startAccessCounty(inject('pgServers')[0]!);
    audit = await auditTrailOf(c);
    zhang = await c.personOf('zhang-ch');
  });
  afterAll(async () => {
    await c?.close();
  });

  const clinicianOf = (institution: string) => () => c.clinician(institution);
  const payloadOf = (institution: string) => ({
    ...clinicianClaims(c.publicUrl, institution, `dr-${institution}`),
    iat: nowSeconds(),
    exp: nowSeconds() + 600,
  });

  interface Case {
    name: string;
    token: () => Promise<string | undefined> | string | undefined;
    record: string;
    status: 200 | 401 | 403;
    /** Words the refusal must carry (OperationOutcome diagnostics, and WWW-Authenticate for 401). */
    says?: RegExp;
    /** The requesting agent's reference; `unauthenticated` for a request without a valid token. */
    who: string;
    institution?: string;
    purpose?: 'TREAT' | 'BTG';
    /** A record of the person the AuditEvent must name (by their golden record); Zhang by default. */
    personRecord?: string;
  }

  const ZHANG_OBS = 'Observation/obs-zhang-ch';
  const cases: Case[] = [
    {
      name: 'no token',
      token: () => undefined,
      record: ZHANG_OBS,
      status: 401,
      says: /bearer token is required/i,
      who: 'unauthenticated',
    },
    {
      name: 'an expired token',
      token: () => c.sign(clinicianClaims(c.publicUrl, TA, `dr-${TA}`), -120),
      record: ZHANG_OBS,
      status: 401,
      says: /expired/,
      who: 'unauthenticated',
    },
    {
      name: 'a token for another audience',
      token: () =>
        c.sign({
          ...clinicianClaims(c.publicUrl, TA, `dr-${TA}`),
          aud: 'https://other-exchange.example/fhir',
        }),
      record: ZHANG_OBS,
      status: 401,
      says: /audience/,
      who: 'unauthenticated',
    },
    {
      name: 'alg: none',
      token: () => unsignedToken(payloadOf(TA)),
      record: ZHANG_OBS,
      status: 401,
      says: /algorithm|invalid/i,
      who: 'unauthenticated',
    },
    {
      name: 'HS256 signed with the public key',
      token: () =>
        hs256Token(
          payloadOf(TA),
          c.signingKey.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
          c.signingKey.kid,
        ),
      record: ZHANG_OBS,
      status: 401,
      says: /algorithm|signature|invalid/i,
      who: 'unauthenticated',
    },
    {
      name: 'a changed payload (township F re-labelled township A)',
      token: async () => {
        const [head, , sig] = (await c.clinician(TF)).split('.');
        const forged = Buffer.from(JSON.stringify(payloadOf(TA))).toString('base64url');
        return `${head}.${forged}.${sig}`;
      },
      record: ZHANG_OBS,
      status: 401,
      says: /signature/,
      who: 'unauthenticated',
    },
    {
      name: 'a scope too narrow (user/Patient.rs reading an Observation)',
      token: () => c.clinician(TA, { scope: 'user/Patient.rs' }),
      record: ZHANG_OBS,
      status: 403,
      says: /user\/Observation\.r/,
      who: `Practitioner/dr-${TA}`,
      institution: TA,
    },
    {
      name: 'no care relationship',
      token: clinicianOf(TF),
      record: ZHANG_OBS,
      status: 403,
      says: /care relationship/,
      who: `Practitioner/dr-${TF}`,
      institution: TF,
    },
    {
      name: 'care by a recent encounter',
      token: clinicianOf(TA),
      record: ZHANG_OBS,
      status: 200,
      who: `Practitioner/dr-${TA}`,
      institution: TA,
    },
    {
      name: 'care by a referral addressed to the institution',
      token: clinicianOf(TD),
      record: ZHANG_OBS,
      status: 200,
      who: `Practitioner/dr-${TD}`,
      institution: TD,
    },
    {
      name: 'care by a family-doctor contract',
      token: clinicianOf(VB),
      record: ZHANG_OBS,
      status: 200,
      who: `Practitioner/dr-${VB}`,
      institution: VB,
    },
    {
      name: 'care by care-team membership',
      token: clinicianOf(TE),
      record: ZHANG_OBS,
      status: 200,
      who: `Practitioner/dr-${TE}`,
      institution: TE,
    },
    {
      name: `an encounter older than ${CARE_DAYS} days`,
      token: clinicianOf(TC),
      record: ZHANG_OBS,
      status: 403,
      says: new RegExp(`within ${CARE_DAYS} days`),
      who: `Practitioner/dr-${TC}`,
      institution: TC,
    },
    {
      name: 'an encounter entered in error',
      token: clinicianOf(TG),
      record: ZHANG_OBS,
      status: 403,
      says: /care relationship/,
      who: `Practitioner/dr-${TG}`,
      institution: TG,
    },
    {
      name: 'opted out (a deny naming no one)',
      token: clinicianOf(TA),
      record: 'Observation/obs-wang-ta',
      status: 403,
      says: /consent/,
      who: `Practitioner/dr-${TA}`,
      institution: TA,
    },
    {
      name: 'opted out: the operator still reads',
      token: () => c.admin,
      record: 'Observation/obs-wang-ta',
      status: 200,
      who: 'hie-admin',
      personRecord: 'wang-ta',
    },
    {
      name: 'institution denied as recipient',
      token: clinicianOf(TA),
      record: 'Observation/obs-zhao-ta',
      status: 403,
      says: /consent/,
      who: `Practitioner/dr-${TA}`,
      institution: TA,
    },
    {
      name: 'institution denied: another institution with care still reads',
      token: clinicianOf(TE),
      record: 'Observation/obs-zhao-ta',
      status: 200,
      who: `Practitioner/dr-${TE}`,
      institution: TE,
      personRecord: 'zhao-ta',
    },
    {
      name: 'source withheld: the county hospital’s record, to township A',
      token: clinicianOf(TA),
      record: 'Observation/obs-sun-ch',
      status: 403,
      who: `Practitioner/dr-${TA}`,
      institution: TA,
    },
    {
      name: 'source withheld: township A’s own record of the same person',
      token: clinicianOf(TA),
      record: 'Observation/obs-sun-ta',
      status: 200,
      who: `Practitioner/dr-${TA}`,
      institution: TA,
      personRecord: 'sun-ta',
    },
    {
      name: 'source withheld: the county hospital reads what it wrote',
      token: clinicianOf(CH),
      record: 'Observation/obs-sun-ch',
      status: 200,
      who: `Practitioner/dr-${CH}`,
      institution: CH,
      personRecord: 'sun-ta',
    },
    {
      name: 'sensitive (PSY): hidden to township A despite care',
      token: clinicianOf(TA),
      record: 'Condition/cond-zhang-psy',
      status: 403,
      who: `Practitioner/dr-${TA}`,
      institution: TA,
    },
    {
      name: 'sensitive: visible to the county hospital that wrote it',
      token: clinicianOf(CH),
      record: 'Condition/cond-zhang-psy',
      status: 200,
      who: `Practitioner/dr-${CH}`,
      institution: CH,
    },
    {
      name: 'sensitive: visible to the operator',
      token: () => c.admin,
      record: 'Condition/cond-zhang-psy',
      status: 200,
      who: 'hie-admin',
    },
    {
      name: 'sensitive: visible to the person’s own token',
      token: () => c.person('zhang-ta'),
      record: 'Condition/cond-zhang-psy',
      status: 200,
      who: 'Patient/zhang-ta',
    },
    {
      name: 'another person’s token',
      token: () => c.person('li-ch'),
      record: ZHANG_OBS,
      status: 403,
      says: /own person/,
      who: 'Patient/li-ch',
    },
  ];

  it.each(cases)('$name → $status', async (k) => {
    const token = await k.token();
    const { result: r, event } = await audit.oneEventAbout(k.record, () =>
      c.call(token, `/fhir/${k.record}`),
    );
    expect(r.status).toBe(k.status);

    if (k.status === 200) {
      expect(r.body.resourceType).toBe(k.record.split('/')[0]);
    } else {
      expect(r.body.resourceType).toBe('OperationOutcome');
      const text = r.body.issue.map((i: Json) => i.diagnostics).join(' ');
      if (k.says) expect(text).toMatch(k.says);
      if (k.status === 401) {
        expect(r.body.issue[0].code).toBe('login');
        const challenge = r.headers.get('www-authenticate') ?? '';
        expect(challenge).toMatch(/^Bearer realm=/);
        if (token !== undefined) expect(challenge).toMatch(/error="invalid_token"/);
      } else {
        expect(r.body.issue[0].code).toBe('forbidden');
        // The refusal says what right is missing, never whether the record exists.
        expect(text).not.toMatch(/not found|unknown|does not exist/i);
      }
    }

    expect(event.outcome).toBe(k.status === 200 ? '0' : '4');
    const requestor = event.agent.find((a: Json) => a.requestor);
    const who = requestor.who.reference ?? requestor.who.display ?? requestor.altId;
    expect(who === k.who || requestor.altId === k.who).toBe(true);
    expect(requestor.purposeOfUse[0].coding[0].code).toBe(k.purpose ?? 'TREAT');
    const orgs = event.agent
      .filter((a: Json) => /^Organization\//.test(a.who?.reference ?? ''))
      .map((a: Json) => a.who.reference);
    expect(orgs).toEqual(k.institution ? [`Organization/${k.institution}`] : []);
    const named = (event.entity ?? []).map((e: Json) => e.what?.reference).filter(Boolean);
    expect(named[0]).toBe(k.record);
    if (k.status === 200) {
      const person = k.personRecord ? await c.personOf(k.personRecord) : zhang;
      expect(named).toContain(`Patient/${person}`);
    }
  });

  it('a privacy officer reviews access but reads no records, even where its institution has a care relationship', async () => {
    expect((await c.call(await c.clinician(TA), '/fhir/Observation/obs-zhang-ch')).status).toBe(200);
    const officer = await c.privacyOfficer(TA);
    const read = await c.call(officer, '/fhir/Observation/obs-zhang-ch');
    expect(read.status).toBe(403);
    expect(JSON.stringify(read.body)).toContain('clinician role');
    const search = await c.call(officer, '/fhir/Observation?_total=accurate');
    expect(search.status).toBe(200);
    expect(search.body.total).toBe(0);
  });

  const BTG_REASON = '急诊抢救：患者昏迷，需查既往史';
  const requestorOf = (event: Json) => event.agent.find((a: Json) => a.requestor);

  it('break-the-glass without a valid token: 401, and audited as a refused BTG attempt', async () => {
    const auditor = await c.sign({ ...adminClaims(c.publicUrl), sub: 'audit-probe' });
    const refusedEvents = async (): Promise<Json[]> => {
      await new Promise((r) => setTimeout(r, 20));
      await c.trail.flush();
      const r = await c.call(auditor, '/fhir/AuditEvent?outcome=4&_count=1000');
      expect(r.status).toBe(200);
      return ((r.body.entry ?? []) as Json[]).map((e) => e.resource as Json);
    };
    const before = new Set((await refusedEvents()).map((e) => e.id));
    const res = await c.call(undefined, '/access/break-glass', {
      method: 'POST',
      body: { patient: 'zhang-ch', reason: BTG_REASON },
    });
    expect(res.status).toBe(401);
    const fresh = (await refusedEvents()).filter((e) => !before.has(e.id));
    expect(fresh).toHaveLength(1);
    expect(requestorOf(fresh[0]!).who.display).toBe('unauthenticated');
    expect(requestorOf(fresh[0]!).purposeOfUse[0].coding[0].code).toBe('BTG');
    expect(fresh[0]!.outcomeDesc).toBe('HTTP 401');
  });

  it('break-the-glass: a grant opens the person, both are audited as BTG, and an expired grant closes it again', async () => {
    const tf = await c.clinician(TF);
    expect((await c.call(tf, '/fhir/Observation/obs-zhang-ch')).status).toBe(403);
    // A reason is required; a privacy officer reviews grants and cannot give itself one.
    const grant = (token: string, patient: string, reason = BTG_REASON) =>
      c.call(token, '/access/break-glass', { method: 'POST', body: { patient, reason } });
    expect((await grant(tf, 'zhang-ch', 'ok')).status).toBe(400);
    expect((await grant(await c.privacyOfficer(TF), 'zhang-ch')).status).toBe(403);
    // Break-the-glass does not override a person's opt-out.
    expect((await grant(tf, 'wang-ta')).status).toBe(403);

    const { result: granted, event: grantEvent } = await audit.oneEventAbout('Patient/zhang-ch', () =>
      grant(tf, 'zhang-ch'),
    );
    expect(granted.status).toBe(201);
    expect(granted.body.person).toBe(`Patient/${zhang}`);
    expect(Date.parse(granted.body.expires) - Date.parse(granted.body.granted)).toBe(60 * 60_000);
    expect(grantEvent.outcome).toBe('0');
    expect(requestorOf(grantEvent).purposeOfUse[0].coding[0].code).toBe('BTG');
    expect(requestorOf(grantEvent).who.reference).toBe(`Practitioner/dr-${TF}`);
    expect(grantEvent.entity.map((e: Json) => e.what?.reference)).toContain(`Patient/${zhang}`);

    const { result: read, event: readEvent } = await audit.oneEventAbout('Observation/obs-zhang-ch', () =>
      c.call(tf, '/fhir/Observation/obs-zhang-ch'),
    );
    expect(read.status).toBe(200);
    expect(readEvent.outcome).toBe('0');
    expect(requestorOf(readEvent).purposeOfUse[0].coding[0].code).toBe('BTG');
    // The grant is the clinician's own, for this person only.
    expect(
      (
        await c.call(
          await c.sign(clinicianClaims(c.publicUrl, TF, 'dr-other')),
          '/fhir/Observation/obs-zhang-ch',
        )
      ).status,
    ).toBe(403);
    expect((await c.call(tf, '/fhir/Observation/obs-li-ch')).status).toBe(403);
    // A clinician reading by care relationship is not flagged BTG.
    const { event: careEvent } = await audit.oneEventAbout('Observation/obs-zhang-ch', async () =>
      c.call(await c.clinician(TA), '/fhir/Observation/obs-zhang-ch'),
    );
    expect(requestorOf(careEvent).purposeOfUse[0].coding[0].code).toBe('TREAT');

    // Township F's privacy officer lists the grant; township A's may not look at F's grants.
    const listed = await c.call(await c.privacyOfficer(TF), '/access/break-glass');
    expect(listed.status).toBe(200);
    expect(listed.body.items).toEqual([
      expect.objectContaining({
        id: granted.body.id,
        patient: 'Patient/zhang-ch',
        reason: BTG_REASON,
        active: true,
      }),
    ]);
    expect((await c.call(await c.privacyOfficer(TA), `/access/break-glass?institution=${TF}`)).status).toBe(
      403,
    );
    expect((await c.call(await c.privacyOfficer(TA), '/access/break-glass')).body.items).toEqual([]);
    expect((await c.call(tf, '/access/break-glass')).status).toBe(403);

    // The grant runs out (moved into the past, as the clock would): refused again.
    await c.database.db.query(
      `UPDATE access_grant SET expires_at = now() - interval '1 second' WHERE id = $1`,
      [granted.body.id],
    );
    const { result: late, event: lateEvent } = await audit.oneEventAbout('Observation/obs-zhang-ch', () =>
      c.call(tf, '/fhir/Observation/obs-zhang-ch'),
    );
    expect(late.status).toBe(403);
    expect(lateEvent.outcome).toBe('4');
    expect(requestorOf(lateEvent).purposeOfUse[0].coding[0].code).toBe('TREAT');
  });

  it('a $summary decision kept for a clinician follows the record: a new encounter opens it, a consent closes it at once', async () => {
    const tf = await c.clinician(TF);
    const summaryOfLi = async () => (await c.call(tf, '/fhir/Patient/li-ch/$summary')).status;
    const put = async (r: Json) => {
      const res = await c.call(c.admin, `/fhir/${r.resourceType}/${r.id}`, { method: 'PUT', body: r });
      expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
    };
    const del = async (ref: string) =>
      expect((await c.call(c.admin, `/fhir/${ref}`, { method: 'DELETE' })).status).toBeLessThan(300);
    expect(await summaryOfLi()).toBe(403);
    expect(await summaryOfLi()).toBe(403);
    // Township F sees Li today: the refusal kept a moment ago must not stand.
    await put({
      resourceType: 'Encounter',
      id: 'enc-li-tf',
      status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
      subject: { reference: 'Patient/li-ch' },
      serviceProvider: { reference: `Organization/${TF}` },
      period: { start: new Date().toISOString() },
    });
    expect(await summaryOfLi()).toBe(200);
    expect(await summaryOfLi()).toBe(200);
    // Li opts out: the permit kept a moment ago must not outlive it.
    await put({
      resourceType: 'Consent',
      id: 'consent-li-out',
      status: 'active',
      scope: {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }],
      },
      category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
      patient: { reference: 'Patient/li-ch' },
      policyRule: {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTOUT' }],
      },
      provision: { type: 'deny' },
    });
    expect(await summaryOfLi()).toBe(403);
    await del('Consent/consent-li-out');
    expect(await summaryOfLi()).toBe(200);
    // The encounter deleted: no care relationship any more.
    await del('Encounter/enc-li-tf');
    expect(await summaryOfLi()).toBe(403);
  });

  it('searches and the person-wide operations hide what reads refuse (sensitivity, withheld source, consent)', async () => {
    const ta = await c.clinician(TA);
    const ch = await c.clinician(CH);
    const ids = async (token: string, query: string) => {
      const r = await c.call(token, `/fhir/${query}`);
      expect(r.status, query).toBe(200);
      return ((r.body.entry ?? []) as Json[]).map((e) => e.resource.id as string);
    };
    expect(await ids(ta, 'Condition?patient=zhang-ch')).not.toContain('cond-zhang-psy');
    expect(await ids(ch, 'Condition?patient=zhang-ch')).toContain('cond-zhang-psy');
    expect(await ids(await c.person('zhang-ta'), 'Condition?patient=zhang-ch')).toContain('cond-zhang-psy');
    const glucose = await ids(ta, 'Observation?code=http://loinc.org|2345-7&_count=100');
    expect(glucose.sort()).toEqual(['obs-sun-ta', 'obs-zhang-ch']);
    const all = await ids(c.admin, 'Observation?code=http://loinc.org|2345-7&_count=100');
    expect(all.sort()).toEqual([
      'obs-li-ch',
      'obs-sun-ch',
      'obs-sun-ta',
      'obs-wang-ta',
      'obs-zhang-ch',
      'obs-zhao-ta',
    ]);

    // $summary: the county hospital's PSY diagnosis reaches the county hospital, not township A.
    const summaryTa = await c.call(ta, '/fhir/Patient/zhang-ta/$summary');
    const summaryCh = await c.call(ch, '/fhir/Patient/zhang-ch/$summary');
    expect([summaryTa.status, summaryCh.status]).toEqual([200, 200]);
    expect(JSON.stringify(summaryCh.body)).toContain('F32.9');
    expect(JSON.stringify(summaryTa.body)).not.toContain('F32.9');
    // $everything: Sun's county-hospital record is withheld from township A, township A's own stays.
    const everything = await ids(ta, 'Patient/sun-ta/$everything');
    expect(everything).toContain('obs-sun-ta');
    expect(everything).not.toContain('obs-sun-ch');
    expect(await ids(ch, 'Patient/sun-ch/$everything')).toContain('obs-sun-ch');
    // Opted out and denied recipients: refused as a whole.
    expect((await c.call(ta, '/fhir/Patient/wang-ta/$summary')).status).toBe(403);
    expect((await c.call(ta, '/fhir/Patient/zhao-ta/$everything')).status).toBe(403);
    expect((await c.call(await c.clinician(TE), '/fhir/Patient/zhao-ta/$everything')).status).toBe(200);
  });
});
