import { Client } from 'fhir-kit-client';
import type { Bundle, Patient } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { NATIONAL_ID_SYSTEM, nationalIdCheckChar } from '../../src/identity/national-id.ts';
import { startTestGateway, type TestGateway } from '../support/test-gateway.ts';

const BASE = 'https://county-hie.org/fhir';
const CPH = 'county-peoples-hospital';
const CGCHC = 'chengguan-community-health-centre';
const GOLDEN = `${BASE}/CodeSystem/record-kind|golden`;

const validId = (first17: string) => first17 + nationalIdCheckChar(first17);

/** An ADT^A04 from the county hospital (HTTP), one registration with its national ID. */
const adt = (o: { control: string; mrn: string; name: string; birth: string; sex: 'M' | 'F'; nid: string }) =>
  [
    `MSH|^~\\&|HIS|CPH|HIE|COUNTY|20261101083000||ADT^A04^ADT_A01|${o.control}|P|2.5.1|||||CHN|UNICODE UTF-8`,
    'EVN|A04|20261101082500',
    `PID|1||${o.mrn}^^^CPH^MR~${o.nid}^^^CHNID^NNCHN||${o.name}||${o.birth.replace(/-/g, '')}|${o.sex}|||桥头镇东村3号||13800138000`,
    `PV1|1|O|MED^1^1||||||||||||||||V${o.control}|||||||||||||||||||||||||20261101080000`,
  ].join('\r');

/** The community centre's FHIR system sends its own record of the resident. */
const fhirPatient = (o: {
  id: string;
  name: string;
  birth: string;
  sex: 'male' | 'female';
  nid: string;
}) => ({
  resourceType: 'Bundle',
  type: 'transaction',
  entry: [
    {
      fullUrl: `urn:uuid:00000000-0000-4000-8000-${o.id.padStart(12, '0')}`,
      resource: {
        resourceType: 'Patient',
        id: o.id,
        identifier: [{ system: NATIONAL_ID_SYSTEM, value: o.nid }],
        name: [{ text: o.name }],
        gender: o.sex,
        birthDate: o.birth,
      },
      request: { method: 'PUT', url: `Patient/${o.id}` },
    },
  ],
});

describe.each(inject('pgServers').filter((s) => s.name === 'pg18-embedded'))(
  'identity linking on $name',
  (server) => {
    let gw: TestGateway;
    let fhir: Client;

    const send = async (path: string, body: string, type: string, institution: string) => {
      const res = await fetch(`${gw.publicUrl}${path}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${await gw.institutionToken(institution)}`, 'Content-Type': type },
        body,
      });
      expect(res.status, await res.clone().text()).toBeLessThan(300);
      const m = await gw.settled(res.headers.get('location')!.split('/').pop()!);
      expect(m?.state, JSON.stringify(m?.outcome)).toBe('stored');
      return m!;
    };
    const sendAdt = (o: Parameters<typeof adt>[0]) =>
      send('/ingest/hl7v2', adt(o), 'application/hl7-v2', CPH);
    const sendFhir = (o: Parameters<typeof fhirPatient>[0]) =>
      send('/ingest/fhir', JSON.stringify(fhirPatient(o)), 'application/fhir+json', CGCHC);

    const patientsById = async (nid: string): Promise<Patient[]> => {
      const b = (await fhir.search({
        resourceType: 'Patient',
        searchParams: { identifier: `${NATIONAL_ID_SYSTEM}|${nid}` },
      })) as unknown as Bundle;
      return (b.entry ?? []).map((e) => e.resource as Patient);
    };
    const personOf = (p: Patient) => p.link?.find((l) => l.type === 'refer')?.other.reference;
    const golden = async (ref: string) =>
      (await fhir.read({ resourceType: 'Patient', id: ref.split('/')[1]! })) as Patient;

    beforeAll(async () => {
      gw = await startTestGateway(server, inject('redisUrl'));
      fhir = new Client({ baseUrl: gw.fhirUrl, bearerToken: gw.adminToken });
    });
    afterAll(async () => gw?.close());

    it('links two institutions’ records with one verified ID to one golden person', async () => {
      const nid = validId('33112419491231002');
      await sendAdt({ control: 'ID-1', mrn: 'M1001', name: '王秀英', birth: '1949-12-31', sex: 'F', nid });
      await sendFhir({ id: 'c-1001', name: '王秀英', birth: '1949-12-31', sex: 'female', nid });

      const sources = await patientsById(nid);
      // Patient?identifier= finds the two source records only: the golden record copies no identifiers.
      expect(sources).toHaveLength(2);
      const persons = new Set(sources.map(personOf));
      expect(persons.size).toBe(1);
      const personRef = [...persons][0]!;
      expect(personRef).toMatch(/^Patient\//);

      const g = await golden(personRef);
      expect(g.meta?.tag).toContainEqual(expect.objectContaining({ code: 'golden' }));
      expect(g.identifier).toEqual([expect.objectContaining({ system: `${BASE}/sid/person`, value: g.id })]);
      expect(g.link?.map((l) => [l.type, l.other.reference]).sort()).toEqual(
        sources.map((s) => ['seealso', `Patient/${s.id}`]).sort(),
      );
      expect(g.name?.[0]?.text).toBe('王秀英');
      // The county hospital (the most trusted tier) gave the golden record its demographics.
      expect(g.telecom?.[0]?.value).toBe('13800138000');

      const bundle = (await fhir.search({
        resourceType: 'Patient',
        searchParams: { _tag: GOLDEN },
      })) as unknown as Bundle;
      expect((bundle.entry ?? []).map((e) => e.resource!.id)).toContain(g.id);

      // Each record's placement is on record: the first founded the person, the second joined it
      // on the first, by the national-ID rule.
      // Ids are time-ordered (UUIDv7): the hospital's record was written first.
      const [hospital, centre] = [...sources].sort((x, y) => (x.id! < y.id! ? -1 : 1));
      const { rows } = await gw.database.db.query(
        `SELECT patient_ref, candidate_ref, person_id, outcome FROM identity_decision
          WHERE patient_ref = ANY($1) ORDER BY id`,
        [sources.map((s) => `Patient/${s.id}`)],
      );
      const personId = personRef.slice('Patient/'.length);
      expect(rows).toEqual([
        { patient_ref: `Patient/${hospital!.id}`, candidate_ref: null, person_id: personId, outcome: 'new' },
        {
          patient_ref: `Patient/${centre!.id}`,
          candidate_ref: `Patient/${hospital!.id}`,
          person_id: personId,
          outcome: 'link',
        },
      ]);
    });

    it('keeps the link when the institution sends the patient again, without new person versions', async () => {
      const nid = validId('33112419550214001');
      await sendAdt({ control: 'KEEP-1', mrn: 'M2001', name: '吴国强', birth: '1955-02-14', sex: 'M', nid });
      const [first] = await patientsById(nid);
      const personRef = personOf(first!)!;
      const goldenVersion = (await golden(personRef)).meta?.versionId;

      await sendAdt({ control: 'KEEP-2', mrn: 'M2001', name: '吴国强', birth: '1955-02-14', sex: 'M', nid });
      const [again] = await patientsById(nid);
      expect(again!.id).toBe(first!.id);
      // One new version for the message (its meta.source names the new archive row), none from
      // identity: the worker carried the stored link over, so there was nothing to re-link.
      expect(Number(again!.meta?.versionId)).toBe(Number(first!.meta?.versionId) + 1);
      expect(again!.link).toEqual(first!.link);
      expect(personOf(again!)).toBe(personRef);
      expect((await golden(personRef)).meta?.versionId).toBe(goldenVersion);
    });

    it('never links two different verified IDs, even with the same name and birth date', async () => {
      const a = validId('33112419900707001');
      const b = validId('33112419900707003');
      await sendAdt({ control: 'TWO-1', mrn: 'M3001', name: '刘洋', birth: '1990-07-07', sex: 'M', nid: a });
      await sendFhir({ id: 'c-3001', name: '刘洋', birth: '1990-07-07', sex: 'male', nid: b });
      const [pa] = await patientsById(a);
      const [pb] = await patientsById(b);
      expect(personOf(pa!)).toBeDefined();
      expect(personOf(pb!)).toBeDefined();
      expect(personOf(pa!)).not.toBe(personOf(pb!));
    });

    it('sends equal IDs with a disagreeing birth date to review, with a provisional person of its own', async () => {
      const nid = validId('33112419650817003');
      await sendAdt({ control: 'REV-1', mrn: 'M4001', name: '张明华', birth: '1965-08-17', sex: 'M', nid });
      // The mother registered under her son's ID at the community centre.
      await sendFhir({ id: 'c-4001', name: '张桂兰', birth: '1938-05-20', sex: 'female', nid });
      const [son, mother] = (await patientsById(nid)).sort((x, y) => (x.birthDate! < y.birthDate! ? 1 : -1));
      expect(personOf(son!)).toBeDefined();
      expect(personOf(mother!)).toBeDefined();
      expect(personOf(mother!)).not.toBe(personOf(son!));
      const { rows } = await gw.database.db.query(
        `SELECT left_ref, right_ref, rule, state FROM identity_review WHERE left_ref = $1`,
        [`Patient/${mother!.id}`],
      );
      expect(rows).toEqual([
        {
          left_ref: `Patient/${mother!.id}`,
          right_ref: `Patient/${son!.id}`,
          rule: 'national-id-demographics',
          state: 'open',
        },
      ]);
    });
  },
);
