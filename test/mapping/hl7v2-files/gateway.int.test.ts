import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DEFAULT_MAPPINGS_DIR } from '../../../src/mapping/engine/index.ts';
import { startTestGateway, type TestGateway } from '../../support/test-gateway.ts';

const BASE = 'https://county-hie.org/fhir';
const CPH = 'county-peoples-hospital';
const sample = (name: string) => readFileSync(path.join(DEFAULT_MAPPINGS_DIR, 'samples', name), 'utf8');

/**
 * Orders and immunizations through the real gateway: the mapping files answer AA, the worker
 * writes them onto the Patient the ADT feed registered (one record), with a Provenance naming
 * the mapping version; a message the mapping cannot handle is kept as failed with its reason.
 */
describe.each(inject('pgServers').filter((s) => s.name === 'pg18-embedded'))(
  'HL7 v2 mapping files through the gateway on $name',
  (server) => {
    let gw: TestGateway;
    const post = async (body: string) => {
      const res = await fetch(`${gw.publicUrl}/ingest/hl7v2`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${await gw.institutionToken(CPH)}`,
          'Content-Type': 'application/hl7-v2',
        },
        body,
      });
      const ack = await res.text();
      const m = await gw.settled(res.headers.get('location')!.split('/').pop()!);
      return { status: res.status, ack, message: m! };
    };
    const get = async (p: string) => {
      const res = await fetch(`${gw.fhirUrl}/${p}`, {
        headers: { Authorization: `Bearer ${gw.adminToken}` },
      });
      return (await res.json()) as Record<string, any>;
    };

    beforeAll(async () => {
      gw = await startTestGateway(server, inject('redisUrl'));
    });
    afterAll(async () => gw?.close());

    it('an ADT registration, then an order and a vaccination: one Patient, everything on it', async () => {
      const pid = sample('orm-o01.hl7')
        .split('\r')
        .find((s) => s.startsWith('PID|'))!;
      const adt = await post(
        `MSH|^~\\&|HIS|CPH|HIE|COUNTY|20261101080000||ADT^A28|H3-A28-1|P|2.5.1\rEVN|A28|20261101080000\r${pid}\r`,
      );
      expect(adt.message.state, JSON.stringify(adt.message.outcome)).toBe('stored');
      const orm = await post(sample('orm-o01.hl7'));
      expect(orm.status).toBe(200);
      expect(orm.ack).toMatch(/MSA\|AA\|CPH-ORM-20261103-0007/);
      expect(orm.message.state, JSON.stringify(orm.message.outcome)).toBe('stored');
      expect(orm.message.type).toBe('ORM^O01');

      const patients = await get(
        `Patient?identifier=${encodeURIComponent(`${BASE}/sid/mrn/${CPH}`)}|ZY0012345`,
      );
      expect(patients.entry).toHaveLength(1);
      const patientId = patients.entry[0].resource.id;
      const orders = await get(`ServiceRequest?subject=Patient/${patientId}&_count=10`);
      expect(orders.entry.map((e: any) => e.resource.identifier[0].value).sort()).toEqual([
        'order-CPH-O-88001',
        'order-CPH-O-88002',
      ]);
      expect(orders.entry[0].resource.meta.source).toBe(`${BASE}/institution/${CPH}#${orm.message.id}`);
      const provenance = await get(`Provenance/${orm.message.id}`);
      expect(JSON.stringify(provenance.entity)).toContain('orm-o01@1');

      // The same message again: recognised as a re-send, nothing duplicated.
      const again = await post(sample('orm-o01.hl7'));
      expect(again.ack).toMatch(/MSA\|AA\|/);
      expect((await get(`ServiceRequest?subject=Patient/${patientId}`)).entry).toHaveLength(2);

      const vxu = await post(sample('vxu-v04.hl7'));
      expect(vxu.message.state, JSON.stringify(vxu.message.outcome)).toBe('stored');
      const child = await get(`Patient?identifier=${encodeURIComponent(`${BASE}/sid/mrn/${CPH}`)}|ZY0098765`);
      const imms = await get(`Immunization?patient=Patient/${child.entry[0].resource.id}&_count=10`);
      expect(
        imms.entry.map((e: any) => [e.resource.status, e.resource.vaccineCode.coding[0].code]).sort(),
      ).toEqual([
        ['completed', '08'],
        ['completed', 'BCG01'],
        ['not-done', '03'],
      ]);
    });

    it('a message the mapping cannot handle: AE, kept as failed with the reason, nothing written', async () => {
      const bad = sample('vxu-v04.hl7')
        .replace('EPI-20261105-0003', 'EPI-20261105-0099')
        .replace('EPI-IMM-5002', 'EPI-IMM-9002')
        .replace('||RE|A\r', '||XX|A\r');
      const res = await post(bad);
      expect(res.ack).toMatch(/MSA\|AE\|EPI-20261105-0099/);
      // ERR-2 names the field, ERR-3 the table 0357 code (table value not found).
      expect(res.ack).toMatch(/ERR\|\|RXA\^2\^20\^1\|103\^/);
      expect(res.message.state).toBe('failed');
      expect(JSON.stringify(res.message.outcome)).toContain(
        'immunization.status: \\"XX\\" is not one of CP, PA, RE, NA',
      );
      const found = await get(
        `Immunization?identifier=${encodeURIComponent(`${BASE}/sid/source-id/${CPH}`)}|imm-EPI-IMM-9002`,
      );
      expect(found.entry ?? []).toEqual([]);
    });
  },
);
