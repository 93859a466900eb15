import type { MllpHandler } from '../../src/ingest/mllp/index.ts';
import type { Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { explainClientErrors } from '../../src/app/http/client-error.ts';
import { buildApp } from '../../src/app/build-app.ts';
import { publishNamingSystems } from '../../src/app/publish-definitions.ts';
import { startWorkerParts, type WorkerParts } from '../../src/app/main-worker.ts';
import { tokenEndpoint } from '../../src/auth/backend-services/token-endpoint.ts';
import { adminClaims, institutionClaims, issueToken } from '../../src/auth/issue-token.ts';
import { loadOrCreateSigningKey } from '../../src/auth/signing-key.ts';
import { createTokenVerifier } from '../../src/auth/verify-token.ts';
import { loadConfig, type Config } from '../../src/config/load-config.ts';
import { PostgresInbox } from '../../src/inbox/postgres-inbox.ts';
import { DEFAULT_MAPPINGS_DIR } from '../../src/mapping/engine/index.ts';
import { createLiveMappings } from '../../src/mapping/live/index.ts';
import { loadSensitivityRules } from '../../src/mapping/sensitivity/index.ts';
import { projectOrganizations } from '../../src/institutions/organizations.ts';
import { projectPractitioners } from '../../src/institutions/practitioner-resources.ts';
import { PostgresInstitutionRegistry } from '../../src/institutions/postgres-registry.ts';
import { seedInstitutions } from '../../src/institutions/seed.ts';
import { silentLogger } from '../../src/kernel/logger.ts';
import type { FhirRepository } from '../../src/repository/store/fhir-repository.ts';
import { freePort } from './free-port.ts';
import type { TestPgServer } from './postgres-servers.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';

export interface TestGateway {
  publicUrl: string;
  fhirUrl: string;
  config: Config;
  adminToken: string;
  /** A token as the registry's institution `id` gets it from /auth/token (system/*.cruds). */
  institutionToken(id: string): Promise<string>;
  database: TestDatabase;
  repo: FhirRepository;
  inbox: PostgresInbox;
  registry: PostgresInstitutionRegistry;
  acceptMllp: MllpHandler;
  worker: WorkerParts;
  /** Waits until the message reaches a final state (stored or failed) and returns it. */
  settled(messageId: string, timeoutMs?: number): Promise<Awaited<ReturnType<PostgresInbox['get']>>>;
  close(): Promise<void>;
}

/**
 * The whole gateway as `npm start` composes it — repository, registry seeded from
 * `registry/institutions.json`, inbox, queue (its own BullMQ prefix on the real Redis) and the
 * worker writing back over FHIR REST — on a database of its own.
 */
export async function startTestGateway(
  server: TestPgServer,
  redisUrl: string,
  env: Record<string, string> = {},
): Promise<TestGateway> {
  const database = await createTestDatabase(server);
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hie-test-gw-'));
  const port = await freePort();
  const config = loadConfig({
    PORT: String(port),
    HIE_DATA_DIR: dataDir,
    DATABASE_URL: database.url,
    HIE_DEMO_ISSUER: 'on',
    HIE_DEMO_COUNTY: 'off',
    ...env,
  });
  const logger = silentLogger();
  const signingKey = await loadOrCreateSigningKey(dataDir);
  const verifier = createTokenVerifier({ publicUrl: config.publicUrl, signingKey, trustedIssuers: [] });
  await seedInstitutions(database.db);
  const registry = new PostgresInstitutionRegistry(database.db);
  const inbox = new PostgresInbox(database.db);
  const prefix = `hie-test-${randomBytes(4).toString('hex')}`;
  const metricsRegistry = new Registry();
  const worker = startWorkerParts({
    metricsRegistry,
    config,
    logger,
    db: database.db,
    redisUrl,
    signingKey,
    prefix,
    concurrency: 4,
    backoffMs: 200,
    reconcileEveryMs: 1_000,
    reconcileGraceMs: 2_000,
  });
  const built = buildApp({
    config,
    logger,
    db: database.db,
    signingKey,
    verifier,
    version: 'test',
    metricsRegistry,
    ingest: {
      registry,
      inbox,
      queue: worker.queue,
      mappings: await createLiveMappings(DEFAULT_MAPPINGS_DIR, { logger, watch: 'off' }),
      sensitivity: loadSensitivityRules(undefined, { canonicalBase: config.canonicalBase }),
    },
    tokenRouter: tokenEndpoint({
      db: database.db,
      registry,
      signingKey,
      publicUrl: config.publicUrl,
      logger,
    }),
  });
  const http: Server = await new Promise((resolve) => {
    const s = built.app.listen(port, '127.0.0.1', () => resolve(s));
    explainClientErrors(s);
  });
  await projectOrganizations(registry, built.repo, config.canonicalBase);
  await projectPractitioners(registry, built.repo, config.canonicalBase);
  await publishNamingSystems(built.repo);
  const settled = async (id: string, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = await inbox.get(id);
      if (m && m.state !== 'queued') return m;
      if (Date.now() > deadline)
        throw new Error(`message ${id} still ${m?.state ?? 'missing'} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return {
    publicUrl: config.publicUrl,
    fhirUrl: `${config.publicUrl}/fhir`,
    config,
    adminToken: await issueToken(signingKey, adminClaims(config.publicUrl), 3600),
    institutionToken: (id) => issueToken(signingKey, institutionClaims(config.publicUrl, id), 3600),
    database,
    repo: built.repo,
    inbox,
    registry,
    acceptMllp: built.acceptMllp!,
    worker,
    settled,
    close: async () => {
      await worker.close();
      http.closeAllConnections();
      await new Promise((r) => http.close(r));
      await built.audit.close();
      await clearPrefix(redisUrl, prefix);
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Removes this gateway's BullMQ keys only; the Redis may be shared with others. */
async function clearPrefix(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
