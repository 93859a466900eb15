/**
 * URLs no route can serve, against the whole gateway on a real PostgreSQL: a NUL character in
 * the path or a query value (each of these was a 500, PostgreSQL refusing the text), and a path
 * no route takes (an HTML page from express), or takes with other methods. All are OperationOutcomes
 * saying what and where.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../support/test-gateway.ts';

const server = inject('pgServers')[0]!;

describe('URLs no route can serve', () => {
  let gw: TestGateway;
  let institutionToken: string;
  beforeAll(async () => {
    gw = await startTestGateway(server, inject('redisUrl'));
    institutionToken = await gw.institutionToken('county-peoples-hospital');
  }, 120_000);
  afterAll(async () => {
    await gw?.close();
  });

  const get = async (path: string, token = gw.adminToken) => {
    const res = await fetch(`${gw.publicUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const type = res.headers.get('content-type') ?? '';
    const text = await res.text();
    return { status: res.status, type, body: type.includes('json') ? JSON.parse(text) : text };
  };
  const issueOf = (body: {
    issue?: { code: string; expression?: string[]; diagnostics?: string; details?: unknown }[];
  }) => body.issue?.[0];

  it.each([
    ['/fhir/Patient/%00', undefined],
    ['/fhir/Patient/a%00b/$summary', undefined],
    ['/fhir/Patient/a%00b/$everything', undefined],
    ['/ingest/messages/%00', undefined],
    ['/fhir/Patient?name=%00', ['name']],
    ['/fhir/Patient?identifier=a%00%7Cb', ['identifier']],
    ['/fhir/Patient?_id=%00', ['_id']],
    ['/fhir/Patient?_has:Observation:patient:code=x%00', ['_has:Observation:patient:code']],
    ['/ingest/messages?status=failed&control-id=%00', ['control-id']],
    ['/access/break-glass?institution=%00', ['institution']],
  ])('%s → 400 naming where the NUL is', async (path, expression) => {
    const r = await get(path);
    expect(r.status).toBe(400);
    expect(r.type).toContain('application/fhir+json');
    const issue = issueOf(r.body);
    expect(issue?.code).toBe('invalid');
    expect(issue?.details).toEqual({
      coding: [{ system: 'https://county-hie.org/fhir/CodeSystem/error', code: 'HIE-HTTP-005' }],
    });
    expect(issue?.diagnostics).toMatch(expression ? `the value of ${expression.join(', ')}` : 'in the path');
    expect(issue?.expression).toEqual(expression);
  });

  it('still serves the same routes without the NUL', async () => {
    expect((await get('/fhir/Patient?name=%E7%A7%80')).status).toBe(200);
    expect((await get('/ingest/messages?status=failed')).status).toBe(200);
  });

  it('refuses a NUL that arrives outside the URL (If-None-Exist, Bundle entries) with 400, not 500', async () => {
    const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
      const res = await fetch(`${gw.publicUrl}${path}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${gw.adminToken}`,
          'content-type': 'application/fhir+json',
          ...headers,
        },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    };
    const nulIssue = {
      code: 'invalid',
      details: { coding: [{ system: 'https://county-hie.org/fhir/CodeSystem/error', code: 'HIE-HTTP-005' }] },
    };
    const created = await post(
      '/fhir/Patient',
      { resourceType: 'Patient' },
      { 'if-none-exist': 'identifier=a%00b' },
    );
    expect(created.status).toBe(400);
    expect(issueOf(created.body as never)).toMatchObject(nulIssue);
    const transaction = await post('/fhir', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:0b0e5f7c-1a2b-4c3d-8e9f-000000000001',
          resource: { resourceType: 'Patient' },
          request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=x%00y' },
        },
      ],
    });
    expect(transaction.status).toBe(400);
    expect(issueOf(transaction.body as never)).toMatchObject(nulIssue);
    // In a batch only the entry that holds it fails; the others are answered as usual.
    const batch = await post('/fhir', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { request: { method: 'GET', url: 'Patient?name=%00' } },
        { request: { method: 'GET', url: 'Patient?name=ok' } },
      ],
    });
    expect(batch.status).toBe(200);
    const [bad, good] = batch.body.entry as { response: { status: string; outcome?: never } }[];
    expect(bad!.response.status).toBe('400');
    expect(issueOf(bad!.response.outcome!)).toMatchObject(nulIssue);
    expect(good!.response.status).toMatch(/^200/);
  });

  it('answers a path no route takes with a 404 OperationOutcome naming method and path', async () => {
    for (const [method, path, token] of [
      ['GET', '/admin/nonexistent', gw.adminToken],
      ['POST', '/ingest/hl7', institutionToken],
    ] as const) {
      const res = await fetch(`${gw.publicUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/hl7-v2' },
        ...(method === 'POST' ? { body: 'MSH|^~\\&|HIS|CPH\r' } : {}),
      });
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toContain('application/fhir+json');
      const issue = issueOf((await res.json()) as never);
      expect(issue?.code).toBe('not-found');
      expect(issue?.diagnostics).toContain(`No route for ${method} ${path}`);
      expect(issue?.diagnostics).toContain('POST /ingest/hl7v2');
    }
    // Without a token it is a 401 first, as for every route but the anonymous ones.
    expect((await fetch(`${gw.publicUrl}/admin/nonexistent`)).status).toBe(401);
  });

  it('answers a wrong method on a path that exists with 405 and Allow, not 404', async () => {
    for (const [method, path, token, allow] of [
      ['DELETE', '/ingest/messages', gw.adminToken, 'GET, HEAD'],
      ['GET', '/ingest/hl7v2', institutionToken, 'POST'],
      ['PUT', '/ingest/csv/village-visits', institutionToken, 'POST'],
    ] as const) {
      const res = await fetch(`${gw.publicUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.get('allow')).toBe(allow);
      const issue = issueOf((await res.json()) as never);
      expect(issue?.code).toBe('not-supported');
      expect(issue?.diagnostics).toBe(`${path} does not take ${method}; it takes ${allow}`);
    }
    // The same walk still finds nothing for a path no route has: 404.
    const unknown = await fetch(`${gw.publicUrl}/ingest/messagez`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${gw.adminToken}` },
    });
    expect(unknown.status).toBe(404);
  });
});
