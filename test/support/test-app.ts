import type { Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { AuditTrail } from '../../src/audit/audit-trail.ts';
import { loadConfig, type Config } from '../../src/config/load-config.ts';
import { buildApp } from '../../src/app/build-app.ts';
import { explainClientErrors } from '../../src/app/http/client-error.ts';
import { issueToken, adminClaims } from '../../src/auth/issue-token.ts';
import { loadOrCreateSigningKey, type SigningKey } from '../../src/auth/signing-key.ts';
import { createTokenVerifier } from '../../src/auth/verify-token.ts';
import { silentLogger } from '../../src/kernel/logger.ts';
import type { FhirRepository } from '../../src/repository/store/fhir-repository.ts';
import { freePort } from './free-port.ts';
import type { TestPgServer } from './postgres-servers.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';

export interface TestApp {
  /** e.g. http://localhost:40123 */
  publicUrl: string;
  /** publicUrl + '/fhir' */
  fhirUrl: string;
  /** An admin token (system/*.cruds) for the app. */
  adminToken: string;
  /** Signs a token with the app's key and the given claims on top of the admin claims. */
  token(claims?: Record<string, unknown>, ttlSeconds?: number): Promise<string>;
  database: TestDatabase;
  repo: FhirRepository;
  /** The app's configuration, signing key (for tokens with exactly the claims a test wants) and audit trail. */
  config: Config;
  signingKey: SigningKey;
  audit: AuditTrail;
  close(): Promise<void>;
}

/** The real app, on its own database and data folder, listening on a free loopback port. */
export async function startTestApp(server: TestPgServer, env: Record<string, string> = {}): Promise<TestApp> {
  const database = await createTestDatabase(server);
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hie-test-data-'));
  const port = await freePort();
  const config = loadConfig({
    PORT: String(port),
    HIE_DATA_DIR: dataDir,
    DATABASE_URL: database.url,
    ...env,
  });
  const signingKey = await loadOrCreateSigningKey(dataDir);
  const verifier = createTokenVerifier({ publicUrl: config.publicUrl, signingKey, trustedIssuers: [] });
  const { app, repo, audit } = buildApp({
    config,
    logger: silentLogger(),
    db: database.db,
    signingKey,
    verifier,
    version: 'test',
  });
  const http: Server = await new Promise((resolve) => {
    const s = app.listen(port, '127.0.0.1', () => resolve(s));
    explainClientErrors(s);
  });
  const token = (claims: Record<string, unknown> = {}, ttl = 3600) =>
    issueToken(signingKey, { ...adminClaims(config.publicUrl), ...claims }, ttl);
  return {
    publicUrl: config.publicUrl,
    fhirUrl: `${config.publicUrl}/fhir`,
    adminToken: await token(),
    token,
    database,
    repo,
    config,
    signingKey,
    audit,
    close: async () => {
      http.closeAllConnections();
      await new Promise((r) => http.close(r));
      await audit.close();
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
