import type { Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildApp } from '../../../src/app/build-app.ts';
import { adminClaims, issueToken, workerClaims } from '../../../src/auth/issue-token.ts';
import { loadOrCreateSigningKey } from '../../../src/auth/signing-key.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';
import { createTokenVerifier } from '../../../src/auth/verify-token.ts';
import { loadConfig } from '../../../src/config/load-config.ts';
import { silentLogger } from '../../../src/kernel/logger.ts';
import { freePort } from '../../support/free-port.ts';
import type { TestPgServer } from '../../support/postgres-servers.ts';

/**
 * The real app, built as `startTestApp` builds it, whose HTTP listener can be stopped and started
 * again on the same port: the repository "unreachable" while its database keeps running.
 */
export interface RestartableApp {
  publicUrl: string;
  fhirUrl: string;
  adminToken: string;
  workerToken(): Promise<string>;
  database: TestDatabase;
  stopListening(): Promise<void>;
  listen(): Promise<void>;
  close(): Promise<void>;
}

export async function startRestartableApp(server: TestPgServer): Promise<RestartableApp> {
  const database = await createTestDatabase(server);
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hie-test-restartable-'));
  const port = await freePort();
  const config = loadConfig({ PORT: String(port), HIE_DATA_DIR: dataDir, DATABASE_URL: database.url });
  const signingKey = await loadOrCreateSigningKey(dataDir);
  const verifier = createTokenVerifier({ publicUrl: config.publicUrl, signingKey, trustedIssuers: [] });
  const { app } = buildApp({
    config,
    logger: silentLogger(),
    db: database.db,
    signingKey,
    verifier,
    version: 'test',
  });
  let http: Server | undefined;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = app.listen(port, '127.0.0.1', () => resolve());
      s.once('error', reject);
      http = s;
    });
  const stopListening = async () => {
    const s = http;
    http = undefined;
    if (!s) return;
    // Cut keep-alive connections too, or the worker's pooled sockets would keep reaching us.
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  };
  await listen();
  return {
    publicUrl: config.publicUrl,
    fhirUrl: `${config.publicUrl}/fhir`,
    adminToken: await issueToken(signingKey, adminClaims(config.publicUrl), 3600),
    workerToken: () => issueToken(signingKey, workerClaims(config.publicUrl), 300),
    database,
    stopListening,
    listen,
    close: async () => {
      await stopListening();
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
