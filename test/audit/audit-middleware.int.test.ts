import type { Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import express from 'express';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { auditEventReadOnly, auditMiddleware } from '../../src/audit/audit-middleware.ts';
import { AuditTrail } from '../../src/audit/audit-trail.ts';
import { chainHeadPath } from '../../src/audit/chain-head.ts';
import { verifyAuditChain } from '../../src/audit/verify-chain.ts';
import type { AuthContext } from '../../src/auth/verify-token.ts';
import { loadFhirModel } from '../../src/repository/fhir-model.ts';
import { search } from '../../src/repository/search/index.ts';
import { FhirRepository } from '../../src/repository/store/fhir-repository.ts';
import { freePort } from '../support/free-port.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

const model = loadFhirModel();
const NAME = '张秀英';
const PHONE = '13812345678';
const NATIONAL_ID = '33252219800101123X';

/**
 * A small app shaped like the real one: the audit first, then a stub "authentication" (a header
 * names the caller), the read-only guard, and stub FHIR routes. The AuditEvents go through the
 * real trail into the real repository, and are found with the repository's own search.
 */
describe('audit middleware', () => {
  let t: TestDatabase;
  let dataDir: string;
  let trail: AuditTrail;
  let server: Server;
  let base: string;
  const logLines: string[] = [];
  let baseUrl: string;

  const auditSearch = async (params: [string, string][]) => {
    await trail.flush();
    const result = await search(t.db, model, { resourceType: 'AuditEvent', params, strict: true, baseUrl });
    return result.matches.map((m) => JSON.parse(m.json!));
  };
  const get = (p: string, user?: string) =>
    fetch(`${base}${p}`, { headers: user ? { 'x-test-user': user } : {} });

  beforeAll(async () => {
    t = await createTestDatabase(inject('pgServers')[0]!);
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'hie-audit-mw-'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    baseUrl = `${base}/fhir`;
    const repo = new FhirRepository(t.db, model, baseUrl);
    const logger = pino(
      { level: 'debug' },
      new Writable({
        write(chunk, _enc, cb) {
          logLines.push(String(chunk));
          cb();
        },
      }),
    );
    trail = new AuditTrail(t.db, repo, { headFile: chainHeadPath(dataDir), headEvery: 5, logger });
    const app = express();
    app.use(
      auditMiddleware(trail, {
        logger,
        personOf: async (p) => (p === 'Patient/p1' ? 'Patient/person-1' : undefined),
      }),
    );
    app.use((req, res, next) => {
      const user = req.header('x-test-user');
      if (!user) {
        res
          .status(401)
          .setHeader('WWW-Authenticate', 'Bearer')
          .json({ resourceType: 'OperationOutcome', issue: [] });
        return;
      }
      const auth: AuthContext = {
        issuer: 'http://hie.test',
        subject: user,
        scopes: [],
        roles: new Set([req.header('x-test-role') === 'worker' ? 'worker' : 'clinician']),
        institution: 'township-a',
        fhirUser: `Practitioner/${user}`,
        claims: {},
      };
      res.locals.auth = auth;
      next();
    });
    app.use(auditEventReadOnly());
    app.get('/fhir/Observation/:id', (req, res) => {
      res.type('application/fhir+json').send(
        JSON.stringify({
          resourceType: 'Observation',
          id: req.params.id,
          subject: { reference: 'Patient/p1' },
        }),
      );
    });
    app.get('/fhir/Patient/:id/\\$summary', (req, res) => {
      res.locals.audit = { purposeOfUse: 'BTG', person: 'Patient/person-9' };
      res.type('application/fhir+json').send(JSON.stringify({ resourceType: 'Bundle', type: 'document' }));
    });
    // A person-wide answer whose handler names the person's records itself (as $summary does).
    app.get('/fhir/Patient/:id/\\$everything', (req, res) => {
      res.locals.audit = { person: 'Patient/golden-7', patients: ['Patient/golden-7', 'Patient/src-7'] };
      res.type('application/fhir+json').send(
        JSON.stringify({
          resourceType: 'Bundle',
          type: 'searchset',
          entry: [{ resource: { resourceType: 'Observation', subject: { reference: 'Patient/unscanned' } } }],
        }),
      );
    });
    app.get('/fhir/Patient/:id', (req, res) => {
      res
        .status(403)
        .type('application/fhir+json')
        .send(JSON.stringify({ resourceType: 'OperationOutcome', issue: [] }));
    });
    app.get('/fhir/Patient', (_req, res) => {
      res.type('application/fhir+json').send(
        JSON.stringify({
          resourceType: 'Bundle',
          type: 'searchset',
          entry: [
            {
              fullUrl: `${baseUrl}/Patient/p2`,
              resource: { resourceType: 'Patient', id: 'p2', name: [{ text: NAME }] },
            },
            { fullUrl: `${baseUrl}/Patient/p3`, resource: { resourceType: 'Patient', id: 'p3' } },
          ],
        }),
      );
    });
    // The base: a batch or transaction, its body kept raw as the FHIR router keeps it.
    app.post('/fhir', express.raw({ type: () => true }), (_req, res) => {
      res.type('application/fhir+json').send(
        JSON.stringify({
          resourceType: 'Bundle',
          type: 'batch-response',
          entry: [{ resource: { resourceType: 'Observation', subject: { reference: 'Patient/p8' } } }],
        }),
      );
    });
    app.use('/fhir', (_req, res) => res.status(404).json({ resourceType: 'OperationOutcome', issue: [] }));
    server = await new Promise((resolve) => {
      const s = app.listen(port, '127.0.0.1', () => resolve(s));
    });
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    await trail?.close().catch(() => undefined);
    await t?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });
  beforeEach(() => {
    logLines.length = 0;
  });

  it('a read writes a BALP AuditEvent: who, which institution, what, whose, why, outcome 0', async () => {
    expect((await get('/fhir/Observation/obs-1', 'dr-li')).status).toBe(200);
    const [event, ...more] = await auditSearch([['entity', 'Observation/obs-1']]);
    expect(more).toHaveLength(0);
    expect(event.type).toMatchObject({
      system: 'http://terminology.hl7.org/CodeSystem/audit-event-type',
      code: 'rest',
    });
    expect(event.subtype).toEqual([{ system: 'http://hl7.org/fhir/restful-interaction', code: 'read' }]);
    expect(event.action).toBe('R');
    expect(event.outcome).toBe('0');
    const [user, org] = event.agent;
    expect(user).toMatchObject({ who: { reference: 'Practitioner/dr-li' }, requestor: true });
    expect(user.purposeOfUse[0].coding[0]).toEqual({
      system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason',
      code: 'TREAT',
    });
    expect(user.role[0].coding[0].code).toBe('clinician');
    expect(org.who.reference).toBe('Organization/township-a');
    expect(event.source.observer.display).toBe('County HIE');
    const refs = event.entity.map((e: any) => e.what?.reference);
    // The requested record, the patient from its content, and the golden person.
    expect(refs).toEqual(['Observation/obs-1', 'Patient/p1', 'Patient/person-1']);
  });

  it('a 403 is audited with outcome 4 and the refused record', async () => {
    expect((await get('/fhir/Patient/hidden-7', 'dr-wang')).status).toBe(403);
    const events = await auditSearch([['patient', 'Patient/hidden-7']]);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ outcome: '4', outcomeDesc: 'HTTP 403', action: 'R' });
    expect(events[0].agent[0].who.reference).toBe('Practitioner/dr-wang');
  });

  it('a 401 is audited with an unauthenticated agent', async () => {
    expect((await get('/fhir/Observation/obs-401')).status).toBe(401);
    const [event] = await auditSearch([['entity', 'Observation/obs-401']]);
    expect(event).toMatchObject({ outcome: '4', outcomeDesc: 'HTTP 401' });
    expect(event.agent[0].who.display).toBe('unauthenticated');
  });

  it('a search records the patients of its answer; an operation its name, and break-the-glass as BTG', async () => {
    expect((await get('/fhir/Patient?gender=female', 'dr-zhao')).status).toBe(200);
    const bySearch = await auditSearch([
      ['patient', 'Patient/p3'],
      ['subtype', 'search-type'],
    ]);
    expect(bySearch).toHaveLength(1);
    expect(bySearch[0].action).toBe('E');
    expect(bySearch[0].entity.map((e: any) => e.what?.reference).filter(Boolean)).toEqual([
      'Patient/p2',
      'Patient/p3',
    ]);

    expect((await get('/fhir/Patient/p5/$summary', 'dr-zhao')).status).toBe(200);
    const [summary] = await auditSearch([
      ['entity', 'Patient/p5'],
      ['subtype', 'operation'],
    ]);
    expect(summary.entity[0].detail).toEqual([{ type: 'operation', valueString: '$summary' }]);
    expect(summary.agent[0].purposeOfUse[0].coding[0].code).toBe('BTG');
    expect(summary.entity.map((e: any) => e.what.reference)).toEqual(['Patient/p5', 'Patient/person-9']);
  });

  it("a batch that reads is audited like a search; a write-only transaction and the worker's look-ups are not", async () => {
    const post = (entries: unknown[], user: string, role?: string) =>
      fetch(`${base}/fhir`, {
        method: 'POST',
        headers: {
          'content-type': 'application/fhir+json',
          'x-test-user': user,
          ...(role ? { 'x-test-role': role } : {}),
        },
        body: JSON.stringify({ resourceType: 'Bundle', type: 'batch', entry: entries }),
      });
    const read = [{ request: { method: 'GET', url: 'Observation?subject=Patient/p8' } }];
    const write = [
      { request: { method: 'PUT', url: 'Observation/o1' }, resource: { resourceType: 'Observation' } },
    ];
    expect((await post(read, 'dr-batch')).status).toBe(200);
    expect((await post(write, 'dr-batch-write')).status).toBe(200);
    expect((await post(read, 'worker-1', 'worker')).status).toBe(200);
    // One event, for the clinician's batch, naming the patient its answer showed.
    const events = await auditSearch([['entity', 'Patient/p8']]);
    expect(events).toHaveLength(1);
    expect(await auditSearch([['agent', 'Practitioner/dr-batch']])).toHaveLength(1);
    expect(await auditSearch([['agent', 'Practitioner/worker-1']])).toEqual([]);
    expect(JSON.stringify(await auditSearch([['agent', 'Practitioner/dr-batch-write']]))).toBe('[]');
  });

  it('takes the patients a handler names instead of scanning its answer for them', async () => {
    expect((await get('/fhir/Patient/src-7/$everything', 'dr-hu')).status).toBe(200);
    const [event] = await auditSearch([
      ['entity', 'Patient/src-7'],
      ['subtype', 'operation'],
    ]);
    const named = event.entity.map((e: any) => e.what.reference);
    expect(named).toEqual(['Patient/src-7', 'Patient/golden-7']);
    expect(named).not.toContain('Patient/unscanned');
  });

  it('AuditEvents are searchable by patient, agent, outcome, date, type and subtype', async () => {
    await get('/fhir/Observation/obs-s1', 'dr-sun');
    await get('/fhir/Patient/refused-s2', 'dr-sun');
    const ids = (events: any[]) => events.map((e) => e.entity[0].what.reference).sort();
    expect(ids(await auditSearch([['agent', 'Practitioner/dr-sun']]))).toEqual([
      'Observation/obs-s1',
      'Patient/refused-s2',
    ]);
    expect(
      ids(
        await auditSearch([
          ['agent', 'Practitioner/dr-sun'],
          ['outcome', '4'],
        ]),
      ),
    ).toEqual(['Patient/refused-s2']);
    expect(
      ids(
        await auditSearch([
          ['agent', 'Practitioner/dr-sun'],
          ['outcome', '0'],
        ]),
      ),
    ).toEqual(['Observation/obs-s1']);
    expect(
      ids(
        await auditSearch([
          ['patient', 'Patient/p1'],
          ['agent', 'Practitioner/dr-sun'],
        ]),
      ),
    ).toEqual(['Observation/obs-s1']);
    const today = new Date().toISOString().slice(0, 10);
    expect(
      await auditSearch([
        ['agent', 'Practitioner/dr-sun'],
        ['date', `ge${today}`],
      ]),
    ).toHaveLength(2);
    expect(
      await auditSearch([
        ['agent', 'Practitioner/dr-sun'],
        ['date', 'lt2020-01-01'],
      ]),
    ).toHaveLength(0);
    expect(
      await auditSearch([
        ['agent', 'Organization/township-a'],
        ['type', 'http://terminology.hl7.org/CodeSystem/audit-event-type|rest'],
        ['subtype', 'http://hl7.org/fhir/restful-interaction|read'],
        ['entity', 'Observation/obs-s1'],
      ]),
    ).toHaveLength(1);
  });

  it('PUT, PATCH, DELETE and POST on AuditEvent → 405 OperationOutcome; searching stays open', async () => {
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      const res = await fetch(`${base}/fhir/AuditEvent/x1`, {
        method,
        headers: { 'x-test-user': 'dr-li' },
        body: method === 'DELETE' ? null : '{}',
      });
      expect(res.status, method).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, HEAD');
      const body: any = await res.json();
      expect(body.resourceType).toBe('OperationOutcome');
      expect(body.issue[0].code).toBe('not-supported');
    }
    const create = await fetch(`${base}/fhir/AuditEvent`, {
      method: 'POST',
      headers: { 'x-test-user': 'dr-li' },
      body: '{}',
    });
    expect(create.status).toBe(405);
    // Not refused by the guard: the stub has no AuditEvent route, so it falls through to the 404.
    expect(
      (
        await fetch(`${base}/fhir/AuditEvent/_search`, {
          method: 'POST',
          headers: { 'x-test-user': 'dr-li' },
        })
      ).status,
    ).toBe(404);
    expect((await get('/fhir/AuditEvent?patient=Patient/p1', 'dr-li')).status).toBe(404);
  });

  it('no name, phone or full national ID reaches the logs or the recorded query', async () => {
    const q = new URLSearchParams([
      ['name', NAME],
      ['phone', PHONE],
      ['identifier', `https://county-hie.org/fhir/sid/national-id|${NATIONAL_ID}`],
    ]);
    expect((await get(`/fhir/Patient?${q}`, 'dr-qian')).status).toBe(200);
    const [event] = await auditSearch([['agent', 'Practitioner/dr-qian']]);
    const query = Buffer.from(event.entity.find((e: any) => e.query).query, 'base64').toString('utf8');
    const recorded = decodeURIComponent(query);
    expect(recorded).toContain('identifier=https://county-hie.org/fhir/sid/national-id|332522********123X');
    const logs = logLines.join('\n');
    expect(logs).toContain('audit event');
    for (const secret of [NAME, PHONE, NATIONAL_ID, encodeURIComponent(NAME)]) {
      expect(logs).not.toContain(secret);
      expect(recorded).not.toContain(secret);
    }
  });

  it('the events the middleware wrote form a valid chain', async () => {
    await trail.flush();
    const result = await verifyAuditChain(t.db, chainHeadPath(dataDir));
    expect(result.ok).toBe(true);
    expect(result.events).toBeGreaterThanOrEqual(9);
  });
});
