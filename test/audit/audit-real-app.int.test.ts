import type { Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../src/app/build-app.ts';
import type { AuditTrail } from '../../src/audit/audit-trail.ts';
import { chainHeadPath } from '../../src/audit/chain-head.ts';
import { verifyAuditChain } from '../../src/audit/verify-chain.ts';
import { adminClaims, clinicianClaims, issueToken } from '../../src/auth/issue-token.ts';
import { loadOrCreateSigningKey } from '../../src/auth/signing-key.ts';
import { createTokenVerifier } from '../../src/auth/verify-token.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { silentLogger } from '../../src/kernel/logger.ts';
import { freePort } from '../support/free-port.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

/**
 * The real app as build-app.ts composes it (real tokens, router, repository and its audit trail:
 * the audit before authentication, the guard before `/fhir`). AuditEvents are then read back
 * through `/fhir/AuditEvent?…` itself.
 */
describe('audit in front of the real FHIR API', () => {
  let t: TestDatabase;
  let dataDir: string;
  let trail: AuditTrail;
  let server: Server;
  let fhir: string;
  let admin: string;
  let clinician: string;

  const call = async (token: string, p: string, init: RequestInit = {}) => {
    const res = await fetch(`${fhir}${p}`, {
      ...init,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/fhir+json' },
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  beforeAll(async () => {
    t = await createTestDatabase(inject('pgServers')[0]!);
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'hie-audit-app-'));
    const port = await freePort();
    const config = loadConfig({ PORT: String(port), HIE_DATA_DIR: dataDir, DATABASE_URL: t.url });
    const signingKey = await loadOrCreateSigningKey(dataDir);
    const verifier = createTokenVerifier({ publicUrl: config.publicUrl, signingKey, trustedIssuers: [] });
    const built = buildApp({
      config,
      logger: silentLogger(),
      db: t.db,
      signingKey,
      verifier,
      version: 'test',
    });
    // build-app mounts the audit itself: the trail is the app's own.
    trail = built.audit;
    server = await new Promise((resolve) => {
      const s = built.app.listen(port, '127.0.0.1', () => resolve(s));
    });
    fhir = `${config.publicUrl}/fhir`;
    admin = await issueToken(signingKey, adminClaims(config.publicUrl), 3600);
    clinician = await issueToken(signingKey, clinicianClaims(config.publicUrl, 'township-a', 'dr-1'), 3600);
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    await trail?.close().catch(() => undefined);
    await t?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('a read and a search through the real router are audited and searchable through /fhir', async () => {
    const patient = await call(admin, '/Patient', {
      method: 'POST',
      body: JSON.stringify({ resourceType: 'Patient', gender: 'female' }),
    });
    expect(patient.status).toBe(201);
    const pid = patient.body.id as string;
    const obs = await call(admin, '/Observation', {
      method: 'POST',
      body: JSON.stringify({
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'bp' },
        subject: { reference: `Patient/${pid}` },
      }),
    });
    expect(obs.status).toBe(201);
    // The clinician's care relationship: a recent encounter at their institution (the policy).
    const org = { resourceType: 'Organization', id: 'township-a', name: 'Township A' };
    expect(
      (await call(admin, '/Organization/township-a', { method: 'PUT', body: JSON.stringify(org) })).status,
    ).toBe(201);
    const encounter = await call(admin, '/Encounter', {
      method: 'POST',
      body: JSON.stringify({
        resourceType: 'Encounter',
        status: 'finished',
        class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
        subject: { reference: `Patient/${pid}` },
        serviceProvider: { reference: 'Organization/township-a' },
        period: { start: new Date().toISOString() },
      }),
    });
    expect(encounter.status).toBe(201);
    expect((await call(clinician, `/Observation/${obs.body.id}`)).status).toBe(200);
    expect((await call(clinician, `/Observation?subject=Patient/${pid}`)).status).toBe(200);
    await trail.flush();

    const byPatient = await call(
      admin,
      `/AuditEvent?patient=Patient/${pid}&agent=Practitioner/dr-1&_sort=date`,
    );
    expect(byPatient.status).toBe(200);
    const events = byPatient.body.entry.map((e: any) => e.resource);
    expect(events.map((e: any) => e.subtype[0].code)).toEqual(['read', 'search-type']);
    expect(events[0].entity[0].what.reference).toBe(`Observation/${obs.body.id}`);
    // Writes by the admin are not audited (only refused writes are); the searches just made are.
    const writes = await call(admin, '/AuditEvent?subtype=create');
    expect(writes.body.total ?? writes.body.entry?.length ?? 0).toBe(0);
  });

  it('a request without a token (401) is audited; AuditEvent cannot be changed (405)', async () => {
    const res = await fetch(`${fhir}/Observation/nobody-1`);
    expect(res.status).toBe(401);
    const put = await call(admin, '/AuditEvent/x', {
      method: 'PUT',
      body: '{"resourceType":"AuditEvent","id":"x"}',
    });
    expect(put.status).toBe(405);
    const del = await call(admin, '/AuditEvent/x', { method: 'DELETE' });
    expect(del.status).toBe(405);
    // Not through a Bundle either: the guard on URLs would not see it, the Bundle processor does.
    for (const type of ['transaction', 'batch']) {
      const bundle = await call(admin, '', {
        method: 'POST',
        body: JSON.stringify({
          resourceType: 'Bundle',
          type,
          entry: [{ request: { method: 'DELETE', url: 'AuditEvent/x' } }],
        }),
      });
      const status =
        type === 'transaction' ? bundle.status : Number(bundle.body.entry[0].response.status.slice(0, 3));
      expect(status, type).toBe(405);
    }
    await trail.flush();
    const refused = await call(admin, '/AuditEvent?entity=Observation/nobody-1&outcome=4');
    expect(refused.body.entry).toHaveLength(1);
    expect(refused.body.entry[0].resource.agent[0].who.display).toBe('unauthenticated');
    await trail.flush();
    expect((await verifyAuditChain(t.db, chainHeadPath(dataDir))).ok).toBe(true);
  });
});
