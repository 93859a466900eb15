import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/test-app.ts';

/**
 * Hostile and malformed requests: each gets a 4xx OperationOutcome that says what is wrong,
 * never a crash or a 500, and nothing is half-written.
 */
describe('bad input to the repository', () => {
  let app: TestApp;
  const send = (path: string, body: string | Buffer, init: RequestInit = {}) =>
    fetch(`${app.fhirUrl}${path}`, {
      method: 'POST',
      body,
      ...init,
      headers: {
        Authorization: `Bearer ${app.adminToken}`,
        'Content-Type': 'application/fhir+json',
        ...(init.headers ?? {}),
      },
    });
  const expectOutcome = async (res: Response, status: number, pattern?: RegExp): Promise<any> => {
    expect(res.status).toBe(status);
    const body: any = await res.json();
    expect(body.resourceType).toBe('OperationOutcome');
    if (pattern) expect(JSON.stringify(body.issue)).toMatch(pattern);
    return body;
  };

  beforeAll(async () => {
    app = await startTestApp(inject('pgServers')[0]!, {
      HIE_MAX_BODY_BYTES: String(2 * 1024 * 1024),
      HIE_MAX_BUNDLE_ENTRIES: '1000',
    });
  });
  afterAll(async () => app?.close());

  it('malformed JSON → 400', async () => {
    await expectOutcome(await send('/Patient', '{"resourceType":"Patient",'), 400, /Malformed JSON/);
  });

  it('a name twice in one object → 400 naming it, and nothing stored', async () => {
    const body = '{"resourceType":"Patient","id":"dup1","gender":"male","gender":"female"}';
    await expectOutcome(
      await send('/Patient/dup1', body, { method: 'PUT' }),
      400,
      /the name \\"gender\\" appears twice/,
    );
    const read = await fetch(`${app.fhirUrl}/Patient/dup1`, {
      headers: { Authorization: `Bearer ${app.adminToken}` },
    });
    expect(read.status).toBe(404);
  });

  it('a body of another type than the URL → 400 naming resourceType', async () => {
    const body = await expectOutcome(await send('/Patient', '{"resourceType":"Observation"}'), 400);
    expect(body.issue[0].expression).toEqual(['resourceType']);
  });

  it('an id in the body that disagrees with the URL → 400', async () => {
    await expectOutcome(
      await send('/Patient/a1', '{"resourceType":"Patient","id":"b2"}', { method: 'PUT' }),
      400,
      /does not match/,
    );
  });

  it('an unknown type → 404, also for search', async () => {
    await expectOutcome(await send('/Foo', '{"resourceType":"Foo"}'), 404, /Unknown resource type/);
    await expectOutcome(
      await fetch(`${app.fhirUrl}/Foo`, { headers: { Authorization: `Bearer ${app.adminToken}` } }),
      404,
    );
  });

  it('a body over the limit → 413', async () => {
    const big = JSON.stringify({ resourceType: 'Basic', code: { text: 'x'.repeat(3 * 1024 * 1024) } });
    await expectOutcome(await send('/Basic', big), 413, /HIE_MAX_BODY_BYTES/);
  });

  it('JSON nested 10,000 deep → 400', async () => {
    const deep = '{"resourceType":"Basic","extension":' + '['.repeat(10_000) + ']'.repeat(10_000) + '}';
    await expectOutcome(await send('/Basic', deep), 400, /nested deeper/);
  });

  it('a Bundle over the entry limit → 413 and nothing written', async () => {
    const entry = Array.from({ length: 100_000 }, () => ({ request: { method: 'GET', url: 'Patient/x' } }));
    const body = JSON.stringify({ resourceType: 'Bundle', type: 'batch', entry });
    const res = await send('', body, {});
    // Either the byte limit or the entry limit catches it; both are 413.
    await expectOutcome(res, 413);
  });

  it('\\u0000 and lone surrogates in strings → 4xx naming the element', async () => {
    const nul = await send('/Patient', '{"resourceType":"Patient","name":[{"family":"a\\u0000b"}]}');
    expect(nul.status).toBeGreaterThanOrEqual(400);
    expect(nul.status).toBeLessThan(500);
    expect(JSON.stringify(await nul.json())).toMatch(/Patient\.name\[0\]\.family/);
    const lone = await send('/Patient', '{"resourceType":"Patient","name":[{"family":"a\\ud800b"}]}');
    expect(lone.status).toBeGreaterThanOrEqual(400);
    expect(lone.status).toBeLessThan(500);
  });

  it('an integer beyond 32 bits → 4xx naming the element', async () => {
    const res = await send(
      '/Patient',
      '{"resourceType":"Patient","multipleBirthInteger":12345678901234567890}',
    );
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(JSON.stringify(await res.json())).toMatch(/multipleBirthInteger/);
  });

  it('invalid UTF-8 → 400', async () => {
    await expectOutcome(await send('/Patient', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), 400, /UTF-8/);
  });

  it('XML → 415; _format=xml → 406', async () => {
    expect(
      (await send('/Patient', '<Patient/>', { headers: { 'Content-Type': 'application/fhir+xml' } })).status,
    ).toBe(415);
    const res = await fetch(`${app.fhirUrl}/Patient?_format=xml`, {
      headers: { Authorization: `Bearer ${app.adminToken}` },
    });
    expect(res.status).toBe(406);
  });

  it.each([
    ["name=' OR 1=1 --", 200],
    ['name=%25', 200],
    ['_id=1);DROP TABLE resource;--', 200],
    ['birthdate=not-a-date', 400],
    ['_sort=;DROP TABLE resource', 400],
    ['_count=-1', 400],
  ])('injection attempt %s is a plain value or a 400, never a 500', async (query, status) => {
    const res = await fetch(`${app.fhirUrl}/Patient?${query}`, {
      headers: { Authorization: `Bearer ${app.adminToken}` },
    });
    expect(res.status).toBe(status);
    const { rows } = await app.database.db.query("SELECT to_regclass('public.resource') AS t");
    expect(rows[0].t).toBe('resource');
  });
});
