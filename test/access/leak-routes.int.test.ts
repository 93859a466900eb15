import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { auditTrailOf, type AuditProbe } from './audit-probe.ts';
import {
  BASE,
  CH,
  GLUCOSE,
  LI_MRN,
  LI_NID,
  LI_ONLY_CODE,
  startAccessCounty,
  TA,
  type AccessCounty,
} from './county-fixture.ts';
import { NATIONAL_ID_SYSTEM } from '../../src/identity/national-id.ts';

type Json = Record<string, any>;

/**
 * Every route issue 7 lists as a way servers have leaked a hidden person, probed for Li (county
 * hospital only) as a clinician of township A, who has a care relationship with Zhang and none
 * with Li. Each probe also runs as the operator, so that it is known to find Li when allowed to:
 * a probe that could not find her anyway would prove nothing.
 */
describe('no route shows township A the hidden person', () => {
  let c: AccessCounty;
  let audit: AuditProbe;
  let ta: string;
  let li: string;

  beforeAll(async () => {
    c = await startAccessCounty(inject('pgServers')[0]!);
    audit = await auditTrailOf(c);
    ta = await c.clinician(TA);
    li = await c.personOf('li-ch');
  });
  afterAll(async () => {
    await c?.close();
  });

  const LI_IDS = ['li-ch', 'obs-li-ch', 'enc-li-ch'];
  const diagnostics = (r: { body: any }) => (r.body.issue ?? []).map((i: Json) => i.diagnostics).join(' ');
  /** The ids in a search answer (entries of every mode) and its total. */
  const search = async (token: string, query: string) => {
    const r = await c.call(token, `/fhir/${query}`);
    expect(r.status, query).toBe(200);
    const ids = ((r.body.entry ?? []) as Json[]).map((e) => e.resource?.id as string);
    return { ids, total: r.body.total as number | undefined, body: r.body };
  };
  /** Whether an answer carries any of Li's data: her records' ids, her person, name or national ID. */
  const showsLi = (x: unknown) => {
    const text = JSON.stringify(x ?? null);
    return LI_IDS.some((id) => text.includes(id)) || carriesLiData(x);
  };
  /** Her data beyond an id the caller typed itself (a refusal may echo the id it refuses). */
  const carriesLiData = (x: unknown) => {
    const text = JSON.stringify(x ?? null);
    return (
      text.includes(li) || text.includes('李秀兰') || text.includes(LI_NID) || text.includes('1975-05-05')
    );
  };

  it('read by id: 403, with the same words as for an id that does not exist', async () => {
    const hidden = await c.call(ta, '/fhir/Patient/li-ch');
    const missing = await c.call(ta, '/fhir/Patient/no-such-person');
    expect([hidden.status, missing.status]).toEqual([403, 403]);
    expect(diagnostics(hidden).replace('li-ch', 'ID')).toBe(
      diagnostics(missing).replace('no-such-person', 'ID'),
    );
    expect(carriesLiData(hidden.body)).toBe(false);
    const obs = await c.call(ta, '/fhir/Observation/obs-li-ch');
    const noObs = await c.call(ta, '/fhir/Observation/obs-nobody');
    expect([obs.status, noObs.status]).toEqual([403, 403]);
    expect(diagnostics(obs).replace('obs-li-ch', 'ID')).toBe(diagnostics(noObs).replace('obs-nobody', 'ID'));
    // Control: the operator reads her.
    expect((await c.call(c.admin, '/fhir/Patient/li-ch')).status).toBe(200);
  });

  it('vread and instance history: 403', async () => {
    expect((await c.call(ta, '/fhir/Patient/li-ch/_history/1')).status).toBe(403);
    expect((await c.call(ta, '/fhir/Observation/obs-li-ch/_history')).status).toBe(403);
    expect((await c.call(ta, '/fhir/Patient/no-such-person/_history/1')).status).toBe(403);
    expect((await c.call(c.admin, '/fhir/Patient/li-ch/_history/1')).status).toBe(200);
  });

  it('earlier versions: a result first filed under her, then corrected to Zhang, shows only its Zhang version', async () => {
    const ch = await c.institution(CH);
    const result = (subject: string) => ({
      resourceType: 'Observation',
      id: 'obs-misfiled',
      meta: { source: `${BASE}/institution/${CH}#misfiled` },
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '2345-7' }] },
      subject: { reference: `Patient/${subject}` },
      valueQuantity: { value: 11.2, unit: 'mmol/L', system: 'http://unitsofmeasure.org', code: 'mmol/L' },
    });
    expect(
      (await c.call(ch, '/fhir/Observation/obs-misfiled', { method: 'PUT', body: result('li-ch') })).status,
    ).toBe(201);
    expect(
      (await c.call(ch, '/fhir/Observation/obs-misfiled', { method: 'PUT', body: result('zhang-ch') }))
        .status,
    ).toBe(200);
    expect((await c.call(ta, '/fhir/Observation/obs-misfiled')).status).toBe(200);
    expect((await c.call(ta, '/fhir/Observation/obs-misfiled/_history/2')).status).toBe(200);
    const v1 = await c.call(ta, '/fhir/Observation/obs-misfiled/_history/1');
    expect(v1.status).toBe(403);
    expect(showsLi(v1.body)).toBe(false);
    const history = await c.call(ta, '/fhir/Observation/obs-misfiled/_history');
    expect(history.status).toBe(403);
    expect(showsLi(history.body)).toBe(false);
    // The operator sees both versions.
    expect((await c.call(c.admin, '/fhir/Observation/obs-misfiled/_history')).body.entry).toHaveLength(2);
  });

  it('PDQm searches (family, given, birthdate, identifier, gender) and totals leave her out', async () => {
    const queries = [
      'Patient?family=李',
      'Patient?given=秀兰',
      'Patient?birthdate=1975-05-05',
      `Patient?identifier=${NATIONAL_ID_SYSTEM}|${LI_NID}`,
      `Patient?identifier=${LI_MRN}`,
      'Patient?gender=female&_total=accurate',
      'Patient?family=李&_summary=count',
    ];
    for (const q of queries) {
      const asAdmin = await search(c.admin, q);
      expect(asAdmin.ids.includes('li-ch') || (asAdmin.total ?? 0) > 0, `control ${q}`).toBe(true);
      const r = await search(ta, q);
      expect(r.ids, q).not.toContain('li-ch');
      // The entries only: the Bundle's self link repeats the query as the caller typed it.
      expect(showsLi(r.body.entry), q).toBe(false);
      if (r.total !== undefined) expect(r.total, q).toBe(r.ids.length);
    }
    // Counting alone must not reveal her either.
    expect((await search(ta, 'Patient?family=李&_summary=count')).total).toBe(0);
    expect(
      (await search(ta, `Patient?identifier=${NATIONAL_ID_SYSTEM}|${LI_NID}&_total=accurate`)).total,
    ).toBe(0);
  });

  it('_include through a visible resource that names her does not bring her', async () => {
    // Township A's own Observation on Zhang names Li as its focus.
    const r = await search(
      ta,
      'Observation?_id=obs-ta-focus-li&_include=Observation:focus&_include=Observation:subject',
    );
    expect(r.ids).toContain('obs-ta-focus-li');
    expect(r.ids).toContain('zhang-ta');
    expect(r.ids).not.toContain('li-ch');
    const asAdmin = await search(c.admin, 'Observation?_id=obs-ta-focus-li&_include=Observation:focus');
    expect(asAdmin.ids).toContain('li-ch');
    const glucose = await search(ta, `Observation?code=${GLUCOSE}&_include=Observation:subject`);
    expect(showsLi(glucose.body.entry)).toBe(false);
  });

  it('_revinclude from a visible person does not bring her records', async () => {
    // Li's Observation names Zhang as its focus.
    const q = 'Patient?_id=zhang-ta&_revinclude=Observation:focus';
    expect((await search(c.admin, q)).ids).toContain('obs-li-ch');
    const r = await search(ta, q);
    expect(r.ids).toContain('zhang-ta');
    expect(r.ids).not.toContain('obs-li-ch');
  });

  it('_has does not match through her records', async () => {
    const q = `Patient?_has:Observation:subject:code=${LI_ONLY_CODE}`;
    expect((await search(c.admin, q)).ids).toEqual(['li-ch']);
    expect((await search(ta, q)).ids).toEqual([]);
    // Zhang is visible, but the only Observation that names him as focus is Li's: no match.
    const focus = `Patient?_id=zhang-ta&_has:Observation:focus:code=${LI_ONLY_CODE}`;
    expect((await search(c.admin, focus)).ids).toEqual(['zhang-ta']);
    expect((await search(ta, focus)).ids).toEqual([]);
  });

  it('chains do not match through her', async () => {
    const q = `Observation?subject:Patient.identifier=${NATIONAL_ID_SYSTEM}|${LI_NID}`;
    expect((await search(c.admin, q)).ids).toEqual(['obs-li-ch']);
    expect((await search(ta, q)).ids).toEqual([]);
    // The Observation is township A's own; the chain runs into Li, whom it must not test.
    const focus = `Observation?focus:Patient.identifier=${LI_MRN}`;
    expect((await search(c.admin, focus)).ids).toEqual(['obs-ta-focus-li']);
    expect((await search(ta, focus)).ids).toEqual([]);
  });

  it('a conditional create on another institution’s identifier neither returns nor touches her record', async () => {
    const taSystem = await c.institution(TA);
    const before = (await c.call(c.admin, '/fhir/Patient/li-ch')).body;
    const body = {
      resourceType: 'Patient',
      identifier: [{ system: `${BASE}/sid/mrn/${TA}`, value: 'TA-NEW-1' }],
      name: [{ text: '新病人' }],
    };
    const created = await c.call(taSystem, '/fhir/Patient', {
      method: 'POST',
      body,
      headers: { 'If-None-Exist': `identifier=${LI_MRN}` },
    });
    expect(created.status).toBe(201);
    expect(created.body.id).not.toBe('li-ch');
    expect(showsLi(created.body)).toBe(false);
    // The same inside a transaction Bundle.
    const tx = await c.call(taSystem, '/fhir', {
      method: 'POST',
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            resource: { ...body, identifier: [{ system: `${BASE}/sid/mrn/${TA}`, value: 'TA-NEW-2' }] },
            request: {
              method: 'POST',
              url: 'Patient',
              ifNoneExist: `identifier=${NATIONAL_ID_SYSTEM}|${LI_NID}`,
            },
          },
        ],
      },
    });
    expect(tx.status).toBe(200);
    expect(tx.body.entry[0].response.status).toMatch(/^201/);
    expect(showsLi(tx.body)).toBe(false);
    // A conditional update on her identifier makes a new record of township A's, never changes hers.
    const put = await c.call(taSystem, `/fhir/Patient?identifier=${LI_MRN}`, {
      method: 'PUT',
      body: { ...body, identifier: [{ system: `${BASE}/sid/mrn/${TA}`, value: 'TA-NEW-3' }] },
    });
    expect(put.status).toBe(201);
    expect(put.body.id).not.toBe('li-ch');
    const hers = await c.call(c.admin, '/fhir/Patient/li-ch');
    expect(hers.body).toEqual(before);
    // Township A reads back what it wrote, and nothing else of the county hospital's.
    expect((await c.call(taSystem, `/fhir/Patient/${created.body.id}`)).status).toBe(200);
    expect((await c.call(taSystem, '/fhir/Patient/li-ch')).status).toBe(403);
  });

  it('batch GET entries are refused one by one, like the same requests alone', async () => {
    const r = await c.call(ta, '/fhir', {
      method: 'POST',
      body: {
        resourceType: 'Bundle',
        type: 'batch',
        entry: [
          { request: { method: 'GET', url: 'Patient/li-ch' } },
          { request: { method: 'GET', url: 'Patient/no-such-person' } },
          { request: { method: 'GET', url: 'Observation?subject=Patient/li-ch' } },
          { request: { method: 'GET', url: 'Patient/zhang-ta' } },
        ],
      },
    });
    expect(r.status).toBe(200);
    const statuses = r.body.entry.map((e: Json) => e.response.status.slice(0, 3));
    expect(statuses).toEqual(['403', '403', '200', '200']);
    expect(r.body.entry[2].resource.entry ?? []).toEqual([]);
    expect(carriesLiData(r.body.entry.slice(0, 3))).toBe(false);
  });

  it('$everything and $summary: 403, the same as for an unknown record', async () => {
    for (const op of ['$everything', '$summary']) {
      const hidden = await c.call(ta, `/fhir/Patient/li-ch/${op}`);
      const missing = await c.call(ta, `/fhir/Patient/no-such-person/${op}`);
      expect([hidden.status, missing.status], op).toEqual([403, 403]);
      expect(diagnostics(hidden).replace('li-ch', 'ID')).toBe(
        diagnostics(missing).replace('no-such-person', 'ID'),
      );
      expect((await c.call(c.admin, `/fhir/Patient/li-ch/${op}`)).status, op).toBe(200);
    }
    expect((await c.call(ta, '/fhir/Patient/zhang-ta/$everything')).status).toBe(200);
  });

  it('$ihe-pix: her identifier is refused exactly like an unknown one', async () => {
    const pix = (token: string, identifier: string) =>
      c.call(token, `/fhir/Patient/$ihe-pix?sourceIdentifier=${encodeURIComponent(identifier)}`);
    const hidden = await pix(ta, `${NATIONAL_ID_SYSTEM}|${LI_NID}`);
    const unknown = await pix(ta, `${NATIONAL_ID_SYSTEM}|110101199001011234`);
    expect([hidden.status, unknown.status]).toEqual([403, 403]);
    expect(diagnostics(hidden)).toBe(diagnostics(unknown));
    expect((await pix(c.admin, `${NATIONAL_ID_SYSTEM}|${LI_NID}`)).status).toBe(200);
    // Zhang's township record's MRN: township A sees his identifiers.
    expect((await pix(ta, `${BASE}/sid/mrn/${TA}|ZHANG-TA`)).status).toBe(200);
  });

  it('$match leaves her out of the candidates (and of their count)', async () => {
    const body = {
      resourceType: 'Parameters',
      parameter: [
        {
          name: 'resource',
          resource: {
            resourceType: 'Patient',
            identifier: [{ system: NATIONAL_ID_SYSTEM, value: LI_NID }],
            name: [{ text: '李秀兰' }],
            gender: 'female',
            birthDate: '1975-05-05',
          },
        },
      ],
    };
    const asAdmin = await c.call(c.admin, '/fhir/Patient/$match', { method: 'POST', body });
    expect(asAdmin.status).toBe(200);
    expect(JSON.stringify(asAdmin.body)).toContain('li-ch');
    const r = await c.call(ta, '/fhir/Patient/$match', { method: 'POST', body });
    expect(r.status).toBe(200);
    expect(showsLi(r.body)).toBe(false);
    expect(r.body.total ?? 0).toBe((r.body.entry ?? []).length);
  });

  it('identity review and history across resources are for administrators', async () => {
    expect((await c.call(ta, '/identity/review')).status).toBe(403);
    expect((await c.call(await c.privacyOfficer(TA), '/identity/review')).status).toBe(403);
    expect((await c.call(c.admin, '/identity/review')).status).toBe(200);
    for (const p of ['/fhir/Patient/_history', '/fhir/_history', '/fhir/Observation/_history']) {
      expect((await c.call(ta, p)).status, p).toBe(403);
      expect((await c.call(await c.institution(TA), p)).status, p).toBe(403);
      expect((await c.call(c.admin, p)).status, p).toBe(200);
    }
  });

  it('AuditEvents: nothing for a clinician, its institution’s for a privacy officer, her own for Li', async () => {
    // Township A's refused looks at Li (made above) are in the trail.
    const { event } = await audit.oneEventAbout('Patient/li-ch', () => c.call(ta, '/fhir/Patient/li-ch'));
    expect(event.outcome).toBe('4');

    const clinician = await search(ta, 'AuditEvent?_total=accurate');
    expect(clinician.ids).toEqual([]);
    expect(clinician.total).toBe(0);

    const officer = await search(await c.privacyOfficer(TA), 'AuditEvent?_count=1000');
    expect(officer.ids.length).toBeGreaterThan(0);
    expect(officer.ids).toContain(event.id);
    for (const e of officer.body.entry as Json[]) {
      const orgs = e.resource.agent.map((a: Json) => a.who?.reference);
      expect(orgs).toContain(`Organization/${TA}`);
    }
    const otherOfficer = await search(await c.privacyOfficer(CH), 'AuditEvent?_count=1000');
    expect(otherOfficer.ids).not.toContain(event.id);

    const liToken = await c.person('li-ch');
    const own = await search(liToken, 'AuditEvent?_count=1000');
    expect(own.ids).toContain(event.id);
    for (const e of own.body.entry as Json[]) {
      const named = (e.resource.entity ?? []).map((x: Json) => x.what?.reference);
      expect(named.some((r: string) => r === 'Patient/li-ch' || r === `Patient/${li}`)).toBe(true);
    }
    // Zhang's token does not see the looks at Li.
    expect((await search(await c.person('zhang-ta'), 'AuditEvent?_count=1000')).ids).not.toContain(event.id);
  });

  it('GET /access/history: the person herself and the operator, not another person', async () => {
    const mine = await c.call(await c.person('li-ch'), '/access/history?patient=li-ch');
    expect(mine.status).toBe(200);
    expect(mine.body.person).toBe(`Patient/${li}`);
    const look = mine.body.items.find((i: Json) => i.institution === TA && i.outcome === '4');
    expect(look).toEqual(expect.objectContaining({ who: `Practitioner/dr-${TA}`, purposeOfUse: 'TREAT' }));
    expect((await c.call(await c.person('zhang-ta'), '/access/history?patient=li-ch')).status).toBe(403);
    expect((await c.call(ta, '/access/history?patient=li-ch')).status).toBe(403);
    const asAdmin = await c.call(c.admin, '/access/history?patient=li-ch');
    expect(asAdmin.status).toBe(200);
    expect(asAdmin.body.items.length).toBeGreaterThanOrEqual(mine.body.items.length);
    // A privacy officer sees its own institution's looks only.
    const officer = await c.call(await c.privacyOfficer(CH), '/access/history?patient=li-ch');
    expect(officer.status).toBe(200);
    expect(officer.body.items.every((i: Json) => i.institution === CH)).toBe(true);
  });
});
