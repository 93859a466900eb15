import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/test-app.ts';

const HIE_PATIENT = 'https://county-hie.org/fhir/StructureDefinition/hie-patient';
const HIE_OBSERVATION = 'https://county-hie.org/fhir/StructureDefinition/hie-observation';

/**
 * A resource written straight to /fhir that claims one of the region's profiles in `meta.profile`
 * is held to it; a profile the server does not know is neither checked nor refused.
 */
describe('claimed profiles on /fhir writes', () => {
  let app: TestApp;
  const post = (type: string, resource: object, prefer?: string) =>
    fetch(`${app.fhirUrl}/${type}`, {
      method: 'POST',
      body: JSON.stringify(resource),
      headers: {
        Authorization: `Bearer ${app.adminToken}`,
        'Content-Type': 'application/fhir+json',
        ...(prefer ? { Prefer: prefer } : {}),
      },
    });
  // A Patient that is valid base R4 but has no name, which the region's Patient profile requires.
  const nameless = { resourceType: 'Patient', gender: 'female', birthDate: '1952-03-06' };

  beforeAll(async () => {
    app = await startTestApp(inject('pgServers')[0]!);
  });
  afterAll(async () => app?.close());

  it('refuses a resource that breaks the region profile it claims, naming the place', async () => {
    const res = await post('Patient', { ...nameless, meta: { profile: [HIE_PATIENT] } });
    expect(res.status).toBe(422);
    const body = (await res.json()) as { resourceType: string; issue: Record<string, any>[] };
    expect(body.resourceType).toBe('OperationOutcome');
    const errors = body.issue.filter((i) => i.severity === 'error');
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.some((i) => /Patient\.name/.test(JSON.stringify(i.expression)))).toBe(true);
    expect(JSON.stringify(errors)).toContain(HIE_PATIENT);
  });

  it('accepts the same resource when it claims nothing, or a profile the server does not know', async () => {
    expect((await post('Patient', nameless)).status).toBe(201);
    const unknown = await post('Patient', {
      ...nameless,
      meta: { profile: ['http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient'] },
    });
    expect(unknown.status).toBe(201);
  });

  it('accepts a resource that meets the profile it claims (a version suffix is fine)', async () => {
    const ok = await post('Patient', {
      ...nameless,
      name: [{ text: '李桂兰' }],
      identifier: [{ system: 'urn:oid:2.16.156.10011.1.3', value: '33112419520306002X' }],
      meta: { profile: [`${HIE_PATIENT}|0.1.0`] },
    });
    expect(ok.status, await ok.clone().text()).toBe(201);
  });

  it('checks each entry of a transaction against what that entry claims', async () => {
    const res = await fetch(app.fhirUrl, {
      method: 'POST',
      headers: { Authorization: `Bearer ${app.adminToken}`, 'Content-Type': 'application/fhir+json' },
      body: JSON.stringify({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: nameless, request: { method: 'POST', url: 'Patient' } },
          {
            resource: {
              resourceType: 'Observation',
              status: 'final',
              code: { text: '血压' },
              meta: { profile: [HIE_OBSERVATION] },
            },
            request: { method: 'POST', url: 'Observation' },
          },
        ],
      }),
    });
    expect(res.status).toBe(422);
    const text = await res.text();
    expect(text).toMatch(/Bundle\.entry\[1\]\.resource\.subject|entry\[1\][^"]*subject/);
    // Nothing of the transaction was written.
    const count = await fetch(`${app.fhirUrl}/Observation?_summary=count`, {
      headers: { Authorization: `Bearer ${app.adminToken}` },
    });
    expect(((await count.json()) as { total: number }).total).toBe(0);
  });
});
