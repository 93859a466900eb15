import type { Server } from 'node:http';
import express from 'express';
import type { Bundle, Patient } from 'fhir/r4';
import { expect } from 'vitest';
import { errorHandler } from '../../../src/app/http/error-handler.ts';
import { authenticate } from '../../../src/auth/auth-middleware.ts';
import { loadOrCreateSigningKey } from '../../../src/auth/signing-key.ts';
import { createTokenVerifier } from '../../../src/auth/verify-token.ts';
import { identityRoutes } from '../../../src/identity/http/identity-routes.ts';
import { createIdentityLinker } from '../../../src/identity/linker.ts';
import { loadMatchRules } from '../../../src/identity/match/rules.ts';
import { NATIONAL_ID_SYSTEM, nationalIdCheckChar } from '../../../src/identity/national-id.ts';
import { identityOperations } from '../../../src/identity/operations/index.ts';
import { inProcessPatients } from '../../../src/identity/workflow/in-process-patients.ts';
import {
  createIdentityWorkflow,
  type IdentityWorkflow,
} from '../../../src/identity/workflow/identity-workflow.ts';
import { silentLogger } from '../../../src/kernel/logger.ts';
import { BundleProcessor } from '../../../src/repository/bundle/bundle-processor.ts';
import { fhirExpressRouter } from '../../../src/repository/http/fhir-express.ts';
import { FhirRouter } from '../../../src/repository/router/fhir-router.ts';
import { freePort } from '../../support/free-port.ts';
import type { TestPgServer } from '../../support/postgres-servers.ts';
import { startTestGateway, type TestGateway } from '../../support/test-gateway.ts';

export const BASE = 'https://county-hie.org/fhir';
export const validId = (first17: string) => first17 + nationalIdCheckChar(first17);

export interface ResidentRecord {
  /** The sender's logical id (it becomes a source-id identifier). */
  id: string;
  name: string;
  birth: string;
  sex: 'male' | 'female';
  nid?: string;
  phone?: string;
}

/**
 * The real gateway (worker with identity linking) plus, on the same database and signing key,
 * a small app that mounts what the lead will wire into build-app: the `/identity` routes after
 * authentication and the identity operations in a FHIR router.
 */
export interface IdentityHarness {
  gw: TestGateway;
  workflow: IdentityWorkflow;
  /** Base URL of the small app (`/identity/*`, `/fhir/Patient/$match|$ihe-pix|$merge|$unmerge`). */
  url: string;
  /** Sends one Patient from a FHIR-speaking institution and waits until it is stored and linked. */
  send(institution: string, r: ResidentRecord): Promise<Patient>;
  /** The source Patient an institution sent under its logical id. */
  sourceOf(institution: string, id: string): Promise<Patient>;
  read(ref: string): Promise<Patient>;
  personOf(p: Patient): string | undefined;
  call(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; json: any }>;
  close(): Promise<void>;
}

export async function startIdentityHarness(server: TestPgServer, redisUrl: string): Promise<IdentityHarness> {
  const gw = await startTestGateway(server, redisUrl);
  const { db } = gw.database;
  const signingKey = await loadOrCreateSigningKey(gw.config.dataDir);
  const verifier = createTokenVerifier({ publicUrl: gw.config.publicUrl, signingKey, trustedIssuers: [] });
  const rules = loadMatchRules();
  const patients = inProcessPatients(gw.repo);
  const linker = createIdentityLinker({
    db,
    rules,
    canonicalBase: gw.config.canonicalBase,
    repository: patients,
  });
  const workflow = createIdentityWorkflow({ db, linker });
  const router = new FhirRouter({
    repo: gw.repo,
    bundles: new BundleProcessor(gw.repo, 100),
    capabilityStatement: () => '{}',
    operations: new Map(
      identityOperations({ db, rules, canonicalBase: gw.config.canonicalBase, repo: gw.repo, verifier }),
    ),
  });
  const app = express();
  app.use(authenticate(verifier, { anonymous: () => false }));
  app.use(identityRoutes({ db, workflow, readPatient: patients.find }));
  app.use(
    '/fhir',
    fhirExpressRouter({
      router,
      maxBodyBytes: 1_000_000,
      baseUrl: gw.repo.baseUrl,
      authorizeFor: () => () => {},
    }),
  );
  app.use(errorHandler(silentLogger()));
  const port = await freePort();
  const http: Server = await new Promise((resolve) => {
    const s = app.listen(port, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${port}`;

  const read = async (ref: string) => (await patients.find(ref))!;
  const sourceOf = async (institution: string, id: string) => {
    const res = await fetch(
      `${gw.fhirUrl}/Patient?identifier=${encodeURIComponent(`${BASE}/sid/source-id/${institution}|${id}`)}`,
      { headers: { Authorization: `Bearer ${gw.adminToken}` } },
    );
    const bundle = (await res.json()) as Bundle;
    expect(bundle.entry, `${institution} ${id}`).toHaveLength(1);
    return bundle.entry![0]!.resource as Patient;
  };
  const send = async (institution: string, r: ResidentRecord) => {
    const patient: Patient = {
      resourceType: 'Patient',
      id: r.id,
      identifier: r.nid ? [{ system: NATIONAL_ID_SYSTEM, value: r.nid }] : [],
      name: [{ text: r.name }],
      gender: r.sex,
      birthDate: r.birth,
      ...(r.phone ? { telecom: [{ system: 'phone', value: r.phone }] } : {}),
    };
    const res = await fetch(`${gw.publicUrl}/ingest/fhir`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${await gw.institutionToken(institution)}`,
        'Content-Type': 'application/fhir+json',
      },
      body: JSON.stringify(patient),
    });
    expect(res.status, await res.clone().text()).toBeLessThan(300);
    const m = await gw.settled(res.headers.get('location')!.split('/').pop()!);
    expect(m?.state, JSON.stringify(m?.outcome)).toBe('stored');
    return sourceOf(institution, r.id);
  };
  const call = async (method: string, path: string, body?: unknown, token = gw.adminToken) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  };
  return {
    gw,
    workflow,
    url,
    send,
    sourceOf,
    read,
    personOf: (p) => p.link?.find((l) => l.type === 'refer')?.other.reference,
    call,
    close: async () => {
      http.closeAllConnections();
      await new Promise((r) => http.close(r));
      await gw.close();
    },
  };
}
