import { Client } from 'fhir-kit-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/test-app.ts';

/** fhir-kit-client throws `{ response: { status, data } }` for HTTP errors. */
async function statusOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (e: any) {
    if (e?.response?.status) return e.response.status;
    throw e;
  }
}

const patient = (family: string, extra: Record<string, unknown> = {}) => ({
  resourceType: 'Patient',
  name: [{ text: family, family }],
  gender: 'female',
  birthDate: '1956-03-08',
  ...extra,
});

describe.each(inject('pgServers'))('FHIR interactions through fhir-kit-client on $name', (server) => {
  let app: TestApp;
  let fhir: Client;
  const raw = (path: string, init: RequestInit = {}) =>
    fetch(`${app.fhirUrl}${path}`, {
      ...init,
      headers: {
        Authorization: `Bearer ${app.adminToken}`,
        'Content-Type': 'application/fhir+json',
        ...(init.headers ?? {}),
      },
    });

  beforeAll(async () => {
    app = await startTestApp(server);
    fhir = new Client({ baseUrl: app.fhirUrl, bearerToken: app.adminToken });
  });
  afterAll(async () => app?.close());

  it('serves the CapabilityStatement without a token and nothing else', async () => {
    const cs: any = await new Client({ baseUrl: app.fhirUrl }).capabilityStatement();
    expect(cs.fhirVersion).toBe('4.0.1');
    expect(cs.rest[0].resource).toHaveLength(146);
    const res = await fetch(`${app.fhirUrl}/Patient`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('creates, reads, versions, patches, deletes and keeps the history of a resource', async () => {
    const created: any = await fhir.create({ resourceType: 'Patient', body: patient('王') });
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.meta.versionId).toBe('1');
    const read: any = await fhir.read({ resourceType: 'Patient', id: created.id });
    expect(read).toEqual(created);

    const updated: any = await fhir.update({
      resourceType: 'Patient',
      id: created.id,
      body: { ...read, gender: 'male' },
    });
    expect(updated.meta.versionId).toBe('2');
    const v1: any = await fhir.vread({ resourceType: 'Patient', id: created.id, version: '1' });
    expect(v1.gender).toBe('female');

    const patched: any = await fhir.patch({
      resourceType: 'Patient',
      id: created.id,
      jsonPatch: [{ op: 'replace', path: '/birthDate', value: '1957-01-01' }],
    });
    expect(patched.birthDate).toBe('1957-01-01');
    expect(patched.meta.versionId).toBe('3');

    await fhir.delete({ resourceType: 'Patient', id: created.id });
    expect(await statusOf(fhir.read({ resourceType: 'Patient', id: created.id }))).toBe(410);
    const history: any = await fhir.history({ resourceType: 'Patient', id: created.id });
    expect(history.entry.map((e: any) => e.request.method)).toEqual(['DELETE', 'PATCH', 'PUT', 'POST']);
    const typeHistory: any = await fhir.typeHistory({ resourceType: 'Patient' });
    expect(typeHistory.entry.length).toBeGreaterThanOrEqual(4);
    expect(await statusOf(fhir.read({ resourceType: 'Patient', id: 'never-was' }))).toBe(404);
  });

  it('answers with ETag, Last-Modified and Location, and honours Prefer: return', async () => {
    const minimal = await raw('/Patient', {
      method: 'POST',
      body: JSON.stringify(patient('李')),
      headers: { Prefer: 'return=minimal' },
    });
    expect(minimal.status).toBe(201);
    expect(await minimal.text()).toBe('');
    const location = minimal.headers.get('location')!;
    expect(location).toMatch(new RegExp(`^${app.fhirUrl}/Patient/[0-9a-f-]{36}/_history/1$`));
    expect(minimal.headers.get('etag')).toBe('W/"1"');
    expect(minimal.headers.get('last-modified')).toMatch(/GMT$/);

    const oo = await raw('/Patient', {
      method: 'POST',
      body: JSON.stringify(patient('张')),
      headers: { Prefer: 'return=OperationOutcome' },
    });
    expect(((await oo.json()) as any).resourceType).toBe('OperationOutcome');
  });

  it('updates as create with a client id, and refuses a stale If-Match with 412', async () => {
    const made = await raw('/Patient/client-chosen-1', {
      method: 'PUT',
      body: JSON.stringify({ ...patient('赵'), id: 'client-chosen-1' }),
    });
    expect(made.status).toBe(201);
    const stale = await raw('/Patient/client-chosen-1', {
      method: 'PUT',
      body: JSON.stringify({ ...patient('赵'), id: 'client-chosen-1', active: true }),
      headers: { 'If-Match': 'W/"7"' },
    });
    expect(stale.status).toBe(412);
    const ok = await raw('/Patient/client-chosen-1', {
      method: 'PUT',
      body: JSON.stringify({ ...patient('赵'), id: 'client-chosen-1', active: true }),
      headers: { 'If-Match': 'W/"1"' },
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('etag')).toBe('W/"2"');
  });

  it('lets exactly one of two concurrent If-Match updates win', async () => {
    const p: any = await fhir.create({ resourceType: 'Patient', body: patient('钱') });
    const attempt = (gender: string) =>
      raw(`/Patient/${p.id}`, {
        method: 'PUT',
        body: JSON.stringify({ ...p, gender }),
        headers: { 'If-Match': 'W/"1"' },
      });
    const statuses = (await Promise.all([attempt('male'), attempt('other')])).map((r) => r.status).sort();
    expect(statuses).toEqual([200, 412]);
  });

  it('creates one resource from sixteen identical conditional creates sent in parallel', async () => {
    const body = JSON.stringify(patient('孙', { identifier: [{ system: 'urn:test:mrn', value: 'M-16' }] }));
    const answers = await Promise.all(
      Array.from({ length: 16 }, () =>
        raw('/Patient', {
          method: 'POST',
          body,
          headers: { 'If-None-Exist': 'identifier=urn:test:mrn|M-16' },
        }),
      ),
    );
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(15);
    const found: any = await fhir.search({
      resourceType: 'Patient',
      searchParams: { identifier: 'urn:test:mrn|M-16' },
    });
    expect(found.entry).toHaveLength(1);
  });

  it('updates and deletes conditionally by identifier', async () => {
    const body = patient('周', { identifier: [{ system: 'urn:test:mrn', value: 'C-1' }] });
    const first = await raw('/Patient?identifier=urn:test:mrn|C-1', {
      method: 'PUT',
      body: JSON.stringify(body),
    });
    expect(first.status).toBe(201);
    const second = await raw('/Patient?identifier=urn:test:mrn|C-1', {
      method: 'PUT',
      body: JSON.stringify({ ...body, active: false }),
    });
    expect(second.status).toBe(200);
    expect(((await second.json()) as any).meta.versionId).toBe('2');
    const del = await raw('/Patient?identifier=urn:test:mrn|C-1', { method: 'DELETE' });
    expect(del.status).toBe(200);
    const after: any = await fhir.search({
      resourceType: 'Patient',
      searchParams: { identifier: 'urn:test:mrn|C-1' },
    });
    expect(after.entry ?? []).toHaveLength(0);
  });

  it('resolves urn:uuid references in a transaction and answers with locations', async () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:0b0b0b0b-0000-4000-8000-000000000001',
          resource: {
            resourceType: 'Observation',
            status: 'final',
            code: { text: 'BP' },
            subject: { reference: 'urn:uuid:0b0b0b0b-0000-4000-8000-000000000002' },
          },
          request: { method: 'POST', url: 'Observation' },
        },
        {
          fullUrl: 'urn:uuid:0b0b0b0b-0000-4000-8000-000000000002',
          resource: patient('吴'),
          request: { method: 'POST', url: 'Patient' },
        },
      ],
    };
    const response: any = await fhir.transaction({ body: bundle });
    expect(response.type).toBe('transaction-response');
    expect(response.entry.map((e: any) => e.response.status)).toEqual(['201 Created', '201 Created']);
    const obsId = response.entry[0].response.location.split('/')[5];
    const patId = response.entry[1].response.location.split('/')[5];
    const obs: any = await fhir.read({ resourceType: 'Observation', id: obsId });
    expect(obs.subject.reference).toBe(`Patient/${patId}`);
  });

  it('rolls back a whole transaction when one entry fails', async () => {
    const before: any = await fhir.search({
      resourceType: 'Patient',
      searchParams: { family: '郑', _summary: 'count' },
    });
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: patient('郑'), request: { method: 'POST', url: 'Patient' } },
        {
          resource: { resourceType: 'Patient', gender: 'robot' },
          request: { method: 'POST', url: 'Patient' },
        },
      ],
    };
    const res = await raw('', { method: 'POST', body: JSON.stringify(bundle) });
    expect(res.status).toBe(422);
    const oo: any = await res.json();
    expect(oo.issue[0].expression[0]).toMatch(/^Bundle\.entry\[1\]\.resource/);
    const after: any = await fhir.search({
      resourceType: 'Patient',
      searchParams: { family: '郑', _summary: 'count' },
    });
    expect(after.total).toBe(before.total);
  });

  it('runs batch entries independently', async () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { resource: patient('冯'), request: { method: 'POST', url: 'Patient' } },
        { request: { method: 'GET', url: 'Patient/does-not-exist' } },
      ],
    };
    const response: any = await fhir.batch({ body: bundle });
    expect(response.entry[0].response.status).toBe('201 Created');
    expect(response.entry[1].response.status).toBe('404');
    expect(response.entry[1].response.outcome.resourceType).toBe('OperationOutcome');
  });

  it('refuses a reference to a resource this server does not have', async () => {
    const res = await raw('/Observation', {
      method: 'POST',
      body: JSON.stringify({
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'x' },
        subject: { reference: 'Patient/nobody' },
      }),
    });
    expect(res.status).toBe(422);
    expect(((await res.json()) as any).issue[0].expression).toEqual(['Observation.subject']);
  });

  it('validates without writing through $validate, and lists it in the CapabilityStatement', async () => {
    const res = await raw('/Patient/$validate', {
      method: 'POST',
      body: JSON.stringify({ resourceType: 'Patient', gender: 'robot' }),
    });
    expect(res.status).toBe(200);
    const oo: any = await res.json();
    expect(oo.issue.find((i: any) => i.severity === 'error').expression).toEqual(['Patient.gender']);
    const ok: any = await (
      await raw('/Patient/$validate', { method: 'POST', body: JSON.stringify(patient('钱')) })
    ).json();
    expect(ok.issue.some((i: any) => i.severity === 'error')).toBe(false);
    const cs: any = await (await fetch(`${app.fhirUrl}/metadata`)).json();
    const patientRes = cs.rest[0].resource.find((r: any) => r.type === 'Patient');
    expect(patientRes.operation.map((o: any) => o.name)).toContain('validate');
  });

  it('keeps the exact text of decimals', async () => {
    const p: any = await fhir.create({ resourceType: 'Patient', body: patient('陈') });
    const text = `{"resourceType":"Observation","status":"final","code":{"text":"glucose"},"subject":{"reference":"Patient/${p.id}"},"valueQuantity":{"value":6.10,"unit":"mmol/L"}}`;
    const res = await raw('/Observation', { method: 'POST', body: text });
    expect(res.status).toBe(201);
    const id = res.headers.get('location')!.split('/')[5];
    const back = await (await raw(`/Observation/${id}`)).text();
    expect(back).toMatch(/"value": ?6\.10\b/);
    // Exponents and negative zero are kept as written too (jsonb would rewrite both).
    for (const value of ['1E-22', '-0.00', '1.000000000000000000E-245']) {
      const t = text.replace('6.10', value);
      const created = await raw('/Observation', { method: 'POST', body: t });
      expect(created.status).toBe(201);
      const read = await (await raw(created.headers.get('location')!.replace(app.fhirUrl, ''))).text();
      expect(read).toContain(`"value":${value},`);
    }
  });
});
