import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestApp, type TestApp } from '../../support/test-app.ts';

const MAIDEN = 'http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName';

/** IHE PDQm (ITI-78) parameters on `GET /fhir/Patient`, beyond core R4: `mothersMaidenName`. */
describe('PDQm search parameters', () => {
  let app: TestApp;
  const get = async (path: string) => {
    const res = await fetch(`${app.fhirUrl}/${path}`, {
      headers: { Authorization: `Bearer ${app.adminToken}` },
    });
    expect(res.status, path).toBe(200);
    return (await res.json()) as Record<string, any>;
  };
  const post = async (resource: object) => {
    const res = await fetch(`${app.fhirUrl}/Patient`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${app.adminToken}`, 'Content-Type': 'application/fhir+json' },
      body: JSON.stringify(resource),
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  };

  beforeAll(async () => {
    app = await startTestApp(inject('pgServers')[0]!);
  });
  afterAll(async () => app?.close());

  it('finds patients by their mother’s maiden name, and the CapabilityStatement says so', async () => {
    const li = await post({
      resourceType: 'Patient',
      name: [{ text: '欧阳秀英' }],
      extension: [{ url: MAIDEN, valueString: '李桂兰' }],
    });
    const wang = await post({
      resourceType: 'Patient',
      name: [{ text: '欧阳明' }],
      extension: [{ url: MAIDEN, valueString: '王芳' }],
    });
    await post({ resourceType: 'Patient', name: [{ text: '李桂兰' }] });

    const ids = (b: Record<string, any>) => (b.entry ?? []).map((e: any) => e.resource.id).sort();
    expect(ids(await get(`Patient?mothersMaidenName=${encodeURIComponent('李')}`))).toEqual([li]);
    expect(ids(await get(`Patient?mothersMaidenName:exact=${encodeURIComponent('王芳')}`))).toEqual([wang]);
    expect(ids(await get(`Patient?mothersMaidenName=${encodeURIComponent('张')}`))).toEqual([]);

    const metadata = await get('metadata');
    const patient = metadata.rest[0].resource.find((r: any) => r.type === 'Patient');
    expect(patient.searchParam.map((p: any) => p.name)).toContain('mothersMaidenName');
  });
});
