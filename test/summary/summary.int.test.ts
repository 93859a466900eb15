import { readdirSync, readFileSync } from 'node:fs';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { gunzipSync } from 'node:zlib';
import path from 'node:path';
import { loadDataType } from '@medplum/core';
import type { StructureDefinition } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { NATIONAL_ID_SYSTEM, nationalIdCheckChar } from '../../src/identity/national-id.ts';
import type { FhirRequest } from '../../src/repository/router/fhir-request.ts';
import type { OperationHandler } from '../../src/repository/router/fhir-router.ts';
import {
  everythingOperation,
  type AuditedResponse,
  loadRecognitionList,
  SummaryCache,
  summaryOperation,
  type SummaryOperationDeps,
} from '../../src/summary/index.ts';
import { profileIssues } from '../../src/validate/index.ts';
import { sharedFixture } from '../support/shared-fixtures.ts';
import { startTestGateway, type TestGateway } from '../support/test-gateway.ts';

type Json = Record<string, any>;

const BASE = 'https://county-hie.org/fhir';
const CPH = 'county-peoples-hospital';
const CGCHC = 'chengguan-community-health-centre';
const LOINC = 'http://loinc.org';
const nid = ((first17: string) => first17 + nationalIdCheckChar(first17))('33112419520306002');

/** The county hospital: a visit with a final hypertension diagnosis, then a CBC from its lab. */
const ADT = [
  'MSH|^~\\&|HIS|CPH|HIE|COUNTY|20261101083000||ADT^A04^ADT_A01|SUM-ADT-1|P|2.5.1|||||CHN|UNICODE UTF-8',
  'EVN|A04|20261101082500',
  `PID|1||M7001^^^CPH^MR~${nid}^^^CHNID^NNCHN||李桂兰||19520306|F|||城关镇南街8号||13900139000`,
  'PV1|1|O|MED^1^1||||||||||||||||VSUM1|||||||||||||||||||||||||20261101080000',
  'DG1|1||I10^原发性高血压^I10||20261101|F',
].join('\r');
const ORU = [
  'MSH|^~\\&|LIS|CPH|HIE|COUNTY|20261101101500||ORU^R01^ORU_R01|SUM-ORU-1|P|2.5.1|||AL|NE|CHN|UNICODE UTF-8',
  `PID|1||M7001^^^CPH^MR~${nid}^^^CHNID^NNCHN||李桂兰||19520306|F`,
  'OBR|1|P-7001^HIS|F-7001^LIS|58410-2^血常规^LN|||20261101080000|||||||||||||||20261101100000||LAB|F',
  'OBX|1|NM|6690-2^白细胞计数^LN||6.20|10*9/L^10*9/L^UCUM|3.5-9.5||||F|||20261101083000',
  'OBX|2|NM|718-7^血红蛋白^LN||128|g/L^g/L^UCUM|115-150||||F|||20261101083000',
].join('\r');

const subject = { reference: 'Patient/c-7001' };
const vital = (id: string, at: string, sys: number, dia: number) => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  category: [
    {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }],
    },
  ],
  code: { coding: [{ system: LOINC, code: '85354-9', display: '血压' }] },
  subject,
  effectiveDateTime: at,
  component: [
    {
      code: { coding: [{ system: LOINC, code: '8480-6' }] },
      valueQuantity: { value: sys, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
    },
    {
      code: { coding: [{ system: LOINC, code: '8462-4' }] },
      valueQuantity: { value: dia, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
    },
  ],
});

/** The community centre's own FHIR record of the same resident: the same ID, its own facts. */
const COMMUNITY = {
  resourceType: 'Bundle',
  type: 'transaction',
  entry: [
    {
      resourceType: 'Patient',
      id: 'c-7001',
      identifier: [{ system: NATIONAL_ID_SYSTEM, value: nid }],
      name: [{ text: '李桂兰' }],
      gender: 'female',
      birthDate: '1952-03-06',
    },
    {
      // The same hypertension, in China's clinical ICD-10 edition: one problem in the summary.
      resourceType: 'Condition',
      id: 'cond-htn',
      clinicalStatus: {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }],
      },
      code: { coding: [{ system: `${BASE}/CodeSystem/icd10-cn`, code: 'I10.x00', display: '高血压' }] },
      subject,
      recordedDate: '2026-06-01',
    },
    {
      resourceType: 'Condition',
      id: 'cond-dm',
      clinicalStatus: {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }],
      },
      code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10', code: 'E11.9', display: '2型糖尿病' }] },
      subject,
      recordedDate: '2026-06-01',
    },
    {
      // Resolved: the IPS rules leave it out.
      resourceType: 'Condition',
      id: 'cond-urti',
      clinicalStatus: {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'resolved' }],
      },
      code: {
        coding: [{ system: 'http://hl7.org/fhir/sid/icd-10', code: 'J06.9', display: '急性上呼吸道感染' }],
      },
      subject,
    },
    {
      resourceType: 'MedicationRequest',
      id: 'med-amlo',
      status: 'active',
      intent: 'order',
      medicationCodeableConcept: {
        coding: [{ system: `${BASE}/CodeSystem/drug-cn`, code: 'XC08CAA001', display: '苯磺酸氨氯地平片' }],
      },
      subject,
      authoredOn: '2026-10-01',
    },
    {
      resourceType: 'AllergyIntolerance',
      id: 'allergy-pen',
      clinicalStatus: {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' },
        ],
      },
      code: { coding: [{ system: 'http://snomed.info/sct', code: '764146007', display: '青霉素' }] },
      patient: subject,
    },
    {
      resourceType: 'Immunization',
      id: 'imm-flu',
      status: 'completed',
      vaccineCode: { coding: [{ system: 'http://hl7.org/fhir/sid/cvx', code: '141', display: '流感疫苗' }] },
      patient: subject,
      occurrenceDateTime: '2026-10-10',
    },
    vital('bp-1', '2026-09-01T09:00:00+08:00', 152, 94),
    vital('bp-2', '2026-10-01T09:00:00+08:00', 138, 86),
    {
      resourceType: 'ServiceRequest',
      id: 'ref-1',
      status: 'active',
      intent: 'order',
      category: [{ coding: [{ system: 'http://snomed.info/sct', code: '3457005', display: '转诊' }] }],
      code: { text: '转县医院心内科' },
      subject,
      authoredOn: '2026-11-02',
      performer: [{ reference: `Organization/${CPH}` }],
    },
  ].map((resource) => ({
    resource,
    request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` },
  })),
};

const ipsDir = sharedFixture('ips/definitions');

describe.each(inject('pgServers').filter((s) => s.name === 'pg18-embedded'))(
  'patient summary on $name',
  (server) => {
    let gw: TestGateway;
    let deps: SummaryOperationDeps;
    let sourceIds: string[];
    let goldenId: string;

    const request = (
      path: string[],
      headers: Record<string, string> = {},
      query: [string, string][] = [],
    ): FhirRequest => ({
      method: 'GET',
      path,
      query,
      headers,
      requestUrl: `${gw.fhirUrl}/${path.join('/')}`,
    });
    const send = async (path: string, body: string, type: string, institution: string) => {
      const res = await fetch(`${gw.publicUrl}${path}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${await gw.institutionToken(institution)}`, 'Content-Type': type },
        body,
      });
      expect(res.status, await res.clone().text()).toBeLessThan(300);
      const m = await gw.settled(res.headers.get('location')!.split('/').pop()!);
      expect(m?.state, JSON.stringify(m?.outcome)).toBe('stored');
    };
    const summary = async (id: string, opts: { lang?: string; viewer?: string } = {}): Promise<Json> => {
      const op: OperationHandler = summaryOperation({
        ...deps,
        ...(opts.viewer ? { policy: async () => ({ institution: opts.viewer }) } : {}),
      });
      const res = await op(
        request(['Patient', id, '$summary'], opts.lang ? { 'accept-language': opts.lang } : {}),
        {
          resourceType: 'Patient',
          id,
        },
      );
      expect(res.status).toBe(200);
      return JSON.parse(res.body!);
    };
    const section = (doc: Json, code: string) =>
      doc.entry[0].resource.section.find((s: Json) => s.code.coding[0].code === code);
    const entriesOf = (doc: Json, code: string): Json[] =>
      (section(doc, code)?.entry ?? []).map(
        (ref: Json) => doc.entry.find((e: Json) => e.fullUrl === ref.reference)?.resource,
      );

    beforeAll(async () => {
      gw = await startTestGateway(server, inject('redisUrl'));
      await send('/ingest/hl7v2', ADT, 'application/hl7-v2', CPH);
      await send('/ingest/hl7v2', ORU, 'application/hl7-v2', CPH);
      await send('/ingest/fhir', JSON.stringify(COMMUNITY), 'application/fhir+json', CGCHC);
      const found = await gw.database.db.query<{ id: string; content: Json }>(
        `SELECT id, content FROM resource WHERE resource_type = 'Patient' AND NOT deleted
         AND content::jsonb->'identifier' @> $1::jsonb`,
        [JSON.stringify([{ system: NATIONAL_ID_SYSTEM, value: nid }])],
      );
      sourceIds = found.rows.map((r) => r.id).sort();
      expect(sourceIds).toHaveLength(2);
      goldenId = String(
        found.rows[0]!.content.link.find((l: Json) => l.type === 'refer').other.reference,
      ).split('/')[1]!;
      deps = {
        db: gw.database.db,
        baseUrl: gw.repo.baseUrl,
        canonicalBase: gw.config.canonicalBase,
        institutions: (id) => gw.registry.get(id),
        recognition: loadRecognitionList(gw.config.mutualRecognitionDays),
        clock: () => new Date('2026-11-05T00:00:00Z'),
      };
    }, 120_000);
    afterAll(async () => gw?.close());

    it('builds one IPS document for the person from any of its records', async () => {
      const docs = await Promise.all([...sourceIds, goldenId].map((id) => summary(id)));
      const doc = docs[0]!;
      expect(doc).toMatchObject({
        resourceType: 'Bundle',
        type: 'document',
        timestamp: '2026-11-05T00:00:00.000Z',
      });
      expect(doc.identifier.value).toMatch(/^urn:uuid:/);
      // Same records, same time: the same document whichever record was asked for.
      for (const other of docs.slice(1)) expect(other).toEqual(doc);

      const composition = doc.entry[0].resource;
      expect(composition.type.coding[0]).toMatchObject({ system: LOINC, code: '60591-5' });
      const goldenUrl = `${gw.repo.baseUrl}/Patient/${goldenId}`;
      expect(composition.subject.reference).toBe(goldenUrl);
      expect(composition.author[0].reference).toMatch(/\/Organization\//);
      const patients = doc.entry.filter((e: Json) => e.resource.resourceType === 'Patient');
      expect(patients.map((e: Json) => e.fullUrl)).toEqual([goldenUrl]);
      const codes = composition.section.map((s: Json) => s.code.coding[0].code);
      for (const c of [
        '11450-4',
        '10160-0',
        '48765-2',
        '11369-6',
        '30954-2',
        '8716-3',
        '47519-4',
        '46240-8',
        '18776-5',
        '85847-2',
      ])
        expect(codes).toContain(c);
      // Every subject/patient reference in the document names the golden record.
      for (const { resource } of doc.entry) {
        for (const field of ['subject', 'patient']) {
          if (resource[field]?.reference)
            expect(resource[field].reference, resource.resourceType).toBe(goldenUrl);
        }
      }
      // Nothing here for procedures: the section says so instead of being left out.
      expect(section(doc, '47519-4').emptyReason.coding[0].code).toBe('unavailable');
      expect(section(doc, '47519-4').entry).toBeUndefined();
    });

    it('shows the hypertension both institutions reported once, and differing problems separately', async () => {
      const doc = await summary(goldenId);
      const problems = entriesOf(doc, '11450-4');
      const codes = problems.map((c) => c.code.coding[0].code).sort();
      expect(codes.filter((c) => c.startsWith('I10'))).toHaveLength(1);
      expect(codes).toContain('E11.9');
      // The resolved upper respiratory infection is not an active problem.
      expect(codes).not.toContain('J06.9');
      const htn = problems.find((c) => c.code.coding[0].code.startsWith('I10'))!;
      const prov = doc.entry
        .map((e: Json) => e.resource)
        .find(
          (r: Json) =>
            r.resourceType === 'Provenance' && r.target[0].reference.endsWith(`/Condition/${htn.id}`),
        );
      expect(prov.agent.map((a: Json) => a.who.reference).sort()).toEqual([
        `Organization/${CGCHC}`,
        `Organization/${CPH}`,
      ]);
      expect(prov.entity).toHaveLength(2);
    });

    it('gathers entries from both institutions, each with its meta.source and a Provenance', async () => {
      const doc = await summary(goldenId);
      const sources = new Set<string>();
      const provenanceTargets = new Set(
        doc.entry
          .filter((e: Json) => e.resource.resourceType === 'Provenance')
          .map((e: Json) => e.resource.target[0].reference),
      );
      for (const code of ['11450-4', '10160-0', '48765-2', '11369-6', '30954-2', '8716-3', '46240-8']) {
        for (const r of entriesOf(doc, code)) {
          expect(r.meta.source, `${code} ${r.resourceType}`).toMatch(
            new RegExp(`^${BASE}/institution/[a-z0-9-]+#`),
          );
          sources.add(r.meta.source.split('#')[0]);
          expect(provenanceTargets.has(`${gw.repo.baseUrl}/${r.resourceType}/${r.id}`)).toBe(true);
        }
      }
      expect([...sources].sort()).toEqual([`${BASE}/institution/${CGCHC}`, `${BASE}/institution/${CPH}`]);
      expect(entriesOf(doc, '30954-2').some((r) => r.resourceType === 'DiagnosticReport')).toBe(true);
      expect(entriesOf(doc, '10160-0').map((r) => r.medicationCodeableConcept.coding[0].code)).toEqual([
        'XC08CAA001',
      ]);
      expect(entriesOf(doc, '46240-8').length).toBeGreaterThan(0);
      // Both blood-pressure readings: the series for hypertension follow-up, not only the latest.
      expect(
        entriesOf(doc, '8716-3')
          .map((o) => o.component[0].valueQuantity.value)
          .sort(),
      ).toEqual([138, 152]);
    });

    it('names the golden person and every record of theirs for the audit, sparing it a scan of the answer', async () => {
      const golden = `Patient/${goldenId}`;
      const records = [golden, ...sourceIds.map((id) => `Patient/${id}`)].sort();
      for (const [op, name] of [
        [summaryOperation(deps), '$summary'],
        [everythingOperation(deps), '$everything'],
      ] as const) {
        const res = (await op(request(['Patient', sourceIds[1]!, name]), {
          resourceType: 'Patient',
          id: sourceIds[1]!,
        })) as AuditedResponse;
        expect(res.status).toBe(200);
        expect(res.audit?.person, name).toBe(golden);
        expect([...(res.audit?.patients ?? [])].sort(), name).toEqual(records);
      }
    });

    it('puts the referral in flight in the plan of care through a CarePlan', async () => {
      const doc = await summary(goldenId);
      const [plan] = entriesOf(doc, '18776-5');
      expect(plan!.resourceType).toBe('CarePlan');
      const target = plan!.activity[0].reference.reference;
      const referral = doc.entry.find((e: Json) => e.fullUrl === target)?.resource;
      expect(referral).toMatchObject({ resourceType: 'ServiceRequest', status: 'active' });
      expect(referral.performer[0].reference).toBe(`Organization/${CPH}`);
    });

    it('writes the narratives in Chinese by default and in English when asked', async () => {
      const zh = await summary(goldenId);
      const en = await summary(goldenId, { lang: 'en-US,en;q=0.9,zh;q=0.5' });
      const div = (doc: Json, code: string) => section(doc, code).text.div as string;
      expect(zh.entry[0].resource.title).toBe('国际患者摘要');
      expect(div(zh, '11450-4')).toContain('来源机构');
      expect(div(zh, '11450-4')).toContain('2型糖尿病');
      expect(div(zh, '47519-4')).toContain('无可用信息');
      expect(en.entry[0].resource.title).toBe('International Patient Summary');
      expect(div(en, '11450-4')).toContain('Source institution');
      expect(div(en, '47519-4')).toContain('No information available');
      for (const doc of [zh, en])
        for (const s of doc.entry[0].resource.section) {
          expect(s.text.status).toBe('generated');
          expect(s.text.div).toMatch(/^<div xmlns="http:\/\/www.w3.org\/1999\/xhtml">/);
        }
    });

    it('flags the county hospital CBC as recognised for another institution, not for the hospital itself', async () => {
      const forCommunity = await summary(goldenId, { viewer: CGCHC });
      const flags = entriesOf(forCommunity, '104605-1');
      const cbc = flags.find((f) => f.code.coding[0].code === 'cbc');
      expect(cbc).toBeDefined();
      expect(cbc!.period.end.slice(0, 10)).toBe('2026-11-08');
      const report = forCommunity.entry.find(
        (e: Json) => e.fullUrl === cbc!.extension[0].valueReference.reference,
      )?.resource;
      expect(report.code.coding[0].code).toBe('58410-2');
      expect(report.meta.source).toContain(`/institution/${CPH}#`);

      const forHospital = await summary(goldenId, { viewer: CPH });
      expect(entriesOf(forHospital, '104605-1').some((f) => f.code.coding[0].code === 'cbc')).toBe(false);

      // Past its 7-day window the same result is not recognised any more.
      const later = summaryOperation({ ...deps, clock: () => new Date('2026-11-20T00:00:00Z') });
      const res = await later(request(['Patient', goldenId, '$summary']), {
        resourceType: 'Patient',
        id: goldenId,
      });
      const doc = JSON.parse(res.body!);
      expect(entriesOf(doc, '104605-1').some((f) => f.code.coding[0].code === 'cbc')).toBe(false);
    });

    it('pages $everything over all the source records with next links', async () => {
      const op = everythingOperation(deps);
      const all = JSON.parse(
        (
          await op(request(['Patient', sourceIds[0]!, '$everything'], {}, [['_count', '1000']]), {
            resourceType: 'Patient',
            id: sourceIds[0]!,
          })
        ).body!,
      );
      const everyId = all.entry.map((e: Json) => e.fullUrl);
      expect(new Set(everyId).size).toBe(everyId.length);
      const types = new Set(all.entry.map((e: Json) => e.resource.resourceType));
      for (const t of [
        'Patient',
        'Condition',
        'Observation',
        'DiagnosticReport',
        'ServiceRequest',
        'Encounter',
      ])
        expect(types).toContain(t);

      const paged: string[] = [];
      let query: [string, string][] = [['_count', '4']];
      for (let page = 0; page < 50; page++) {
        const b = JSON.parse(
          (
            await op(request(['Patient', goldenId, '$everything'], {}, query), {
              resourceType: 'Patient',
              id: goldenId,
            })
          ).body!,
        );
        expect(b.entry.length).toBeLessThanOrEqual(4);
        paged.push(...b.entry.map((e: Json) => e.fullUrl));
        const next = b.link.find((l: Json) => l.relation === 'next')?.url;
        if (!next) break;
        query = [...new URL(next).searchParams.entries()];
      }
      expect(paged.sort()).toEqual([...everyId].sort());

      const onlyConditions = JSON.parse(
        (
          await op(request(['Patient', goldenId, '$everything'], {}, [['_type', 'Condition']]), {
            resourceType: 'Patient',
            id: goldenId,
          })
        ).body!,
      );
      expect(onlyConditions.entry.map((e: Json) => e.resource.resourceType)).toEqual([
        'Condition',
        'Condition',
        'Condition',
        'Condition',
      ]);
      const future = JSON.parse(
        (
          await op(request(['Patient', goldenId, '$everything'], {}, [['_since', '2999-01-01T00:00:00Z']]), {
            resourceType: 'Patient',
            id: goldenId,
          })
        ).body!,
      );
      expect(future.entry).toEqual([]);
    });

    /**
     * Medplum 4.5.2 refuses slicing discriminators of type `profile` and cannot tell a contained
     * resource's type by a `type` discriminator (it sees `Resource`). The IPS Bundle slices its entries
     * that way (and DiagnosticReport its results), so those slicings are taken out of the profile
     * and checked here instead: every entry against the IPS profile its slice names, and the slices'
     * cardinalities (one Composition first, one Patient) by hand. It also misreads the optional
     * `section-note` extension slice inside Composition.section as a slice of `section` itself (a
     * minimal valid Composition fails with it), so that 0..1 extension slice is taken out too.
     */
    const withoutProfileSlicing = (sd: StructureDefinition): StructureDefinition => {
      const copy = structuredClone(sd);
      const sliced = (copy.snapshot?.element ?? [])
        .filter((el) => el.slicing?.discriminator?.some((d) => d.type === 'profile'))
        .map((el) => el.id!);
      for (const el of copy.snapshot?.element ?? []) {
        if (sliced.includes(el.id!) || /^Composition\.section(:[A-Za-z]+)?\.extension$/.test(el.id!))
          delete el.slicing;
      }
      copy.snapshot!.element = copy.snapshot!.element.filter(
        (el) => !sliced.some((id) => el.id!.startsWith(`${id}:`)) && !el.id!.includes(':section-note'),
      );
      return copy;
    };

    it('serves a kept summary again until one of the person’s records changes, and rebuilds after its time', async () => {
      let now = new Date('2026-11-05T00:00:00Z');
      const cache = new SummaryCache({ ttlMs: 60_000, maxBytes: 64 * 1024 * 1024 }, () => now);
      const cachedSummary = async (policy?: SummaryOperationDeps['policy']): Promise<string> => {
        const op = summaryOperation({ ...deps, cache, clock: () => now, ...(policy ? { policy } : {}) });
        const res = await op(request(['Patient', goldenId, '$summary'], {}), {
          resourceType: 'Patient',
          id: goldenId,
        });
        expect(res.status).toBe(200);
        return res.body!;
      };
      const systolics = (body: string): number[] =>
        entriesOf(JSON.parse(body), '8716-3').flatMap((o) =>
          (o.component ?? [])
            .filter((c: Json) => c.code.coding[0].code === '8480-6')
            .map((c: Json) => c.valueQuantity.value),
        );

      const first = await cachedSummary();
      // The kept document is the one built without the cache, at the same time.
      expect(JSON.parse(first)).toEqual(await summary(goldenId));
      expect(await cachedSummary()).toBe(first);
      expect(cache.counts).toEqual({ hits: 1, builds: 1 });
      // Reading the summary writes an AuditEvent in the person's compartment: not a change to it.
      const auditsOfPerson = async () =>
        (
          await gw.database.db.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM resource WHERE resource_type = 'AuditEvent' AND compartments && $1::text[]`,
            [sourceIds],
          )
        ).rows[0]!.n;
      const auditsBefore = await auditsOfPerson();
      const read = await fetch(`${gw.fhirUrl}/Patient/${goldenId}/$summary`, {
        headers: { Authorization: `Bearer ${gw.adminToken}` },
      });
      expect(read.status).toBe(200);
      await expect.poll(auditsOfPerson, { timeout: 10_000 }).toBeGreaterThan(auditsBefore);

      // Over HTTP a kept summary goes out compressed to a client that accepts gzip, the same JSON.
      const raw = async (acceptEncoding?: string) => {
        const res = await new Promise<IncomingMessage>((resolve, reject) =>
          httpGet(
            `${gw.fhirUrl}/Patient/${goldenId}/$summary`,
            {
              headers: {
                Authorization: `Bearer ${gw.adminToken}`,
                ...(acceptEncoding ? { 'Accept-Encoding': acceptEncoding } : {}),
              },
            },
            resolve,
          ).on('error', reject),
        );
        const chunks: Buffer[] = [];
        for await (const c of res) chunks.push(c as Buffer);
        return { headers: res.headers, bytes: Buffer.concat(chunks) };
      };
      const plain = await raw();
      const zipped = await raw('gzip, deflate');
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(zipped.headers['content-encoding']).toBe('gzip');
      expect(zipped.headers.vary).toMatch(/Accept-Encoding/i);
      expect(zipped.bytes.length).toBeLessThan(plain.bytes.length / 4);
      expect(gunzipSync(zipped.bytes).toString('utf8')).toBe(plain.bytes.toString('utf8'));
      expect((await raw('gzip;q=0')).headers['content-encoding']).toBeUndefined();
      expect(await cachedSummary()).toBe(first);
      expect(cache.counts).toEqual({ hits: 2, builds: 1 });

      // A new reading for one of the person's records is in the very next summary.
      const created = await fetch(`${gw.fhirUrl}/Observation`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${gw.adminToken}`, 'Content-Type': 'application/fhir+json' },
        body: JSON.stringify({
          ...vital('ignored', '2026-11-04T09:00:00+08:00', 163, 97),
          id: undefined,
          subject: { reference: `Patient/${sourceIds[0]}` },
        }),
      });
      expect(created.status, await created.clone().text()).toBe(201);
      const newId = ((await created.json()) as Json).id as string;
      const afterWrite = await cachedSummary();
      expect(afterWrite).not.toBe(first);
      expect(systolics(afterWrite)).toContain(163);
      expect(systolics(first)).not.toContain(163);
      expect(cache.counts.builds).toBe(2);

      // A caller who may not see an entry gets a document without it, not the kept one.
      const hideReading: SummaryOperationDeps['policy'] = async () => ({
        visible: (list) => list.filter((r) => r.id !== newId),
      });
      const withheld = await cachedSummary(hideReading);
      expect(systolics(withheld)).not.toContain(163);
      expect(systolics(await cachedSummary())).toContain(163);
      expect(systolics(await cachedSummary(hideReading))).not.toContain(163);
      expect(cache.counts).toEqual({ hits: 4, builds: 3 });

      // A delete counts as a change too.
      const deleted = await fetch(`${gw.fhirUrl}/Observation/${newId}`, {
        method: 'DELETE',
        headers: { Authorization: `Bearer ${gw.adminToken}` },
      });
      expect(deleted.status).toBeLessThan(300);
      const afterDelete = await cachedSummary();
      expect(systolics(afterDelete)).not.toContain(163);
      expect(JSON.parse(afterDelete)).toEqual(JSON.parse(first));

      // Past its time the summary is built again, dated now.
      const builds = cache.counts.builds;
      now = new Date(now.getTime() + 61_000);
      const later = JSON.parse(await cachedSummary());
      expect(cache.counts.builds).toBe(builds + 1);
      expect(later.timestamp).toBe(now.toISOString());
    });

    it.skipIf(!ipsDir)(
      'validates with no errors against the IPS Bundle profile and each entry’s IPS profile',
      async () => {
        const sds = readdirSync(ipsDir!)
          .filter((f) => f.startsWith('StructureDefinition-') && f.endsWith('.json'))
          .map((f) => withoutProfileSlicing(JSON.parse(readFileSync(path.join(ipsDir!, f), 'utf8'))));
        // Inner types first (CodeableConcept-uv-ips, Coding-uv-ips), so resource profiles find them.
        for (const sd of [...sds].sort(
          (a, b) => Number(a.kind === 'resource') - Number(b.kind === 'resource'),
        ))
          loadDataType(sd as Parameters<typeof loadDataType>[0]);
        const byUrl = new Map(sds.map((sd) => [sd.url, sd]));
        const bundleSd = byUrl.get('http://hl7.org/fhir/uv/ips/StructureDefinition/Bundle-uv-ips')!;
        const doc = await summary(goldenId, { viewer: CGCHC });
        const errors = (issues: ReturnType<typeof profileIssues>) =>
          issues.filter((i) => i.severity === 'error');
        expect(errors(profileIssues(doc, bundleSd, 'Bundle'))).toEqual([]);

        expect(doc.entry[0].resource.resourceType).toBe('Composition');
        expect(doc.entry.filter((e: Json) => e.resource.resourceType === 'Composition')).toHaveLength(1);
        expect(doc.entry.filter((e: Json) => e.resource.resourceType === 'Patient')).toHaveLength(1);
        const original = JSON.parse(
          readFileSync(path.join(ipsDir!, 'StructureDefinition-Bundle-uv-ips.json'), 'utf8'),
        );
        const sliceProfiles = new Map<string, string[]>();
        for (const el of original.snapshot.element as StructureDefinition['snapshot'] & Json[])
          if (/^Bundle\.entry:[a-z]+\.resource$/.test(el.id!))
            sliceProfiles.set(el.type![0]!.code, el.type![0]!.profile ?? []);
        let checked = 0;
        doc.entry.forEach((e: Json, i: number) => {
          for (const url of sliceProfiles.get(e.resource.resourceType) ?? []) {
            const sd = byUrl.get(url);
            if (!sd) continue;
            checked++;
            expect(errors(profileIssues(e.resource, sd, `Bundle.entry[${i}].resource`)), url).toEqual([]);
          }
        });
        // Composition, Patient, Organization, Conditions, the MedicationRequest, Immunization, … at least.
        expect(checked).toBeGreaterThanOrEqual(8);
        // The check can fail: without its problem list the Composition is refused.
        const compositionSd = byUrl.get('http://hl7.org/fhir/uv/ips/StructureDefinition/Composition-uv-ips')!;
        const composition = doc.entry[0].resource;
        const withoutProblems = {
          ...composition,
          section: composition.section.filter((x: Json) => x.code.coding[0].code !== '11450-4'),
        };
        expect(errors(profileIssues(withoutProblems, compositionSd, 'Composition')).length).toBeGreaterThan(
          0,
        );
      },
    );
  },
);
