import type { Bundle, Parameters, Patient } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { NATIONAL_ID_SYSTEM } from '../../../src/identity/national-id.ts';
import { BASE, startIdentityHarness, validId, type IdentityHarness } from '../workflow/identity-harness.ts';

const CPH = 'county-peoples-hospital';
const CGCHC = 'chengguan-community-health-centre';
const CMCH = 'county-mch-hospital';
const GRADE = 'http://hl7.org/fhir/StructureDefinition/match-grade';
const GOLDEN = `${BASE}/StructureDefinition/golden-record`;

describe.each(inject('pgServers').filter((s) => s.name === 'pg18-embedded'))(
  'Patient/$match and $ihe-pix on $name',
  (server) => {
    let h: IdentityHarness;
    const nid = validId('33112419750505001');
    const other = validId('33112419750505003');
    let hospital: Patient, community: Patient, namesake: Patient;

    beforeAll(async () => {
      h = await startIdentityHarness(server, inject('redisUrl'));
      const who = { name: '孙志强', birth: '1975-05-05', sex: 'male' as const };
      hospital = await h.send(CPH, { id: 'sun-1', ...who, nid, phone: '13811112222' });
      community = await h.send(CGCHC, { id: 'sun-2', ...who, nid });
      // A namesake born the same day, with his own verified ID.
      namesake = await h.send(CMCH, { id: 'sun-3', ...who, nid: other, phone: '13811112222' });
    });
    afterAll(async () => h?.close());

    const match = async (parameter: Parameters['parameter']) =>
      h.call('POST', '/fhir/Patient/$match', { resourceType: 'Parameters', parameter });
    const query = (extra: Partial<Patient> = {}): Patient => ({
      resourceType: 'Patient',
      identifier: [{ system: NATIONAL_ID_SYSTEM, value: nid }],
      name: [{ text: '孙志强' }],
      gender: 'male',
      birthDate: '1975-05-05',
      ...extra,
    });
    const grade = (e: NonNullable<Bundle['entry']>[number]) =>
      e.search?.extension?.find((x) => x.url === GRADE)?.valueCode;

    it('$match ranks the resident’s records first as certain and never returns a different ID', async () => {
      const res = await match([{ name: 'resource', resource: query() }]);
      expect(res.status, JSON.stringify(res.json)).toBe(200);
      const bundle = res.json as Bundle;
      expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'searchset' });
      const entries = bundle.entry ?? [];
      expect(entries.map((e) => e.resource!.id).sort()).toEqual([hospital.id, community.id].sort());
      expect(entries.map((e) => e.resource!.id)).not.toContain(namesake.id);
      for (const e of entries) {
        expect(grade(e)).toBe('certain');
        expect(e.search!.mode).toBe('match');
        expect(e.search!.score).toBeGreaterThan(0.9);
        expect(e.search!.score).toBeLessThanOrEqual(1);
        // The golden record it names is the one its refer link points at.
        const golden = e.search!.extension!.find((x) => x.url === GOLDEN)?.valueReference?.reference;
        expect(golden).toBe(h.personOf(e.resource as Patient));
        expect(e.fullUrl).toBe(`${h.gw.fhirUrl}/Patient/${e.resource!.id}`);
      }
    });

    it('$match without an ID ranks by score and grades below certain; options narrow the answer', async () => {
      const res = await match([
        {
          name: 'resource',
          resource: query({ identifier: [], telecom: [{ system: 'phone', value: '13811112222' }] }),
        },
      ]);
      const entries = (res.json as Bundle).entry ?? [];
      expect(entries.length).toBeGreaterThan(0);
      const scores = entries.map((e) => e.search!.score!);
      expect([...scores].sort((a, b) => b - a)).toEqual(scores);
      // Sharing the phone, the hospital record and the namesake outrank the community record.
      expect(entries[entries.length - 1]!.resource!.id).toBe(community.id);
      expect(entries.every((e) => grade(e) !== 'certainly-not' && grade(e) !== 'certain')).toBe(true);

      const only = await match([
        { name: 'resource', resource: query({ identifier: [] }) },
        { name: 'onlyCertainMatches', valueBoolean: true },
      ]);
      expect((only.json as Bundle).entry ?? []).toEqual([]);
      const one = await match([
        { name: 'resource', resource: query() },
        { name: 'count', valueInteger: 1 },
      ]);
      expect((one.json as Bundle).entry).toHaveLength(1);
    });

    it('$match refuses what is not a Parameters with one Patient', async () => {
      expect((await h.call('POST', '/fhir/Patient/$match', query())).status).toBe(400);
      expect(
        (await match([{ name: 'resource', resource: { resourceType: 'Observation' } as never }])).status,
      ).toBe(400);
      expect(
        (
          await match([
            { name: 'resource', resource: query() },
            { name: 'count', valueInteger: 0 },
          ])
        ).status,
      ).toBe(400);
      expect((await h.call('GET', '/fhir/Patient/$match')).status).toBe(405);
    });

    it('$ihe-pix returns every identifier of the person’s records, and only theirs', async () => {
      const pix = async (qs: string) => h.call('GET', `/fhir/Patient/$ihe-pix?${qs}`);
      const res = await pix(`sourceIdentifier=${encodeURIComponent(`${BASE}/sid/source-id/${CPH}|sun-1`)}`);
      expect(res.status, JSON.stringify(res.json)).toBe(200);
      const params = (res.json as Parameters).parameter ?? [];
      const ids = params
        .filter((p) => p.name === 'targetIdentifier')
        .map((p) => `${p.valueIdentifier!.system}|${p.valueIdentifier!.value}`);
      const person = h.personOf(hospital)!.slice('Patient/'.length);
      expect(ids.sort()).toEqual(
        [
          `${NATIONAL_ID_SYSTEM}|${nid}`,
          `${BASE}/sid/source-id/${CPH}|sun-1`,
          `${BASE}/sid/source-id/${CGCHC}|sun-2`,
          `${BASE}/sid/person|${person}`,
        ].sort(),
      );
      expect(
        params
          .filter((p) => p.name === 'targetId')
          .map((p) => p.valueReference!.reference)
          .sort(),
      ).toEqual([`${h.gw.fhirUrl}/Patient/${hospital.id}`, `${h.gw.fhirUrl}/Patient/${community.id}`].sort());

      const narrowed = await pix(
        `sourceIdentifier=${encodeURIComponent(`${NATIONAL_ID_SYSTEM}|${nid}`)}&targetSystem=${encodeURIComponent(`${BASE}/sid/source-id/${CGCHC}`)}`,
      );
      expect((narrowed.json as Parameters).parameter).toEqual([
        {
          name: 'targetIdentifier',
          valueIdentifier: { system: `${BASE}/sid/source-id/${CGCHC}`, value: 'sun-2' },
        },
        { name: 'targetId', valueReference: { reference: `${h.gw.fhirUrl}/Patient/${community.id}` } },
      ]);

      const unknown = await pix(
        `sourceIdentifier=${encodeURIComponent(`${NATIONAL_ID_SYSTEM}|${validId('33112420000101001')}`)}`,
      );
      expect(unknown.status).toBe(404);
      expect(unknown.json.issue[0].code).toBe('not-found');
      expect((await pix('sourceIdentifier=no-bar')).status).toBe(400);
      expect((await pix('sourceIdentifier=%7Cvalue')).status).toBe(400);
      expect((await pix('targetSystem=x')).status).toBe(400);
    });
  },
);
