/**
 * A bench child process serving HTTP, composed as `src/app/main-start.ts` composes `npm start`:
 *  - BENCH_ROLE=gateway: registry (seeded), inbox, BullMQ producer, `/auth/token`, `/ingest/…`,
 *    the MLLP listener and the FHIR repository at `/fhir`;
 *  - BENCH_ROLE=repository: the FHIR repository only (the worker's write target), so its CPU is
 *    counted apart from the gateway's.
 * The worker is another child (worker-child.ts). Env: DATABASE_URL, REDIS_URL, HIE_DATA_DIR
 * (shared, holding the signing key), BENCH_PREFIX (BullMQ prefix, gateway only).
 */
import type { Server } from 'node:http';
import net from 'node:net';
import { buildApp } from '../../src/app/build-app.ts';
import { tokenEndpoint } from '../../src/auth/backend-services/token-endpoint.ts';
import { loadOrCreateSigningKey } from '../../src/auth/signing-key.ts';
import { createTokenVerifier } from '../../src/auth/verify-token.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { Database } from '../../src/db/database.ts';
import { PostgresInbox } from '../../src/inbox/postgres-inbox.ts';
import { projectOrganizations } from '../../src/institutions/organizations.ts';
import { PostgresInstitutionRegistry } from '../../src/institutions/postgres-registry.ts';
import { seedInstitutions } from '../../src/institutions/seed.ts';
import { startMllpListener, type MllpListener } from '../../src/ingest/mllp/index.ts';
import { createLogger } from '../../src/kernel/logger.ts';
import { createIngestQueue, type ReconcilableQueue } from '../../src/queue/ingest-queue.ts';
import { serveIpc } from './child-ipc.ts';

export interface ServerInfo {
  url: string;
  port: number;
  mllpPort?: number;
  pid: number;
}

const role = process.env.BENCH_ROLE === 'repository' ? 'repository' : 'gateway';
const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`server-child needs ${name}`);
  return v;
};
const databaseUrl = env('DATABASE_URL');
const redisUrl = env('REDIS_URL');
const port = await freePort();
const config = loadConfig({
  PORT: String(port),
  HIE_DATA_DIR: env('HIE_DATA_DIR'),
  DATABASE_URL: databaseUrl,
  REDIS_URL: redisUrl,
  // Loopback MLLP senders are allowed with the demo issuer on, as in the embedded default.
  HIE_DEMO_ISSUER: 'on',
  ...(process.env.HIE_LOG_LEVEL ? { HIE_LOG_LEVEL: process.env.HIE_LOG_LEVEL } : {}),
});
const logger = createLogger(config.logLevel);
const db = new Database(databaseUrl, { logger, applicationName: `county-hie-bench-${role}` });
const signingKey = await loadOrCreateSigningKey(config.dataDir);
const verifier = createTokenVerifier({ publicUrl: config.publicUrl, signingKey, trustedIssuers: [] });

let queue: ReconcilableQueue | undefined;
let mllp: MllpListener | undefined;
let built: ReturnType<typeof buildApp>;
if (role === 'gateway') {
  await seedInstitutions(db);
  const registry = new PostgresInstitutionRegistry(db);
  queue = createIngestQueue({ redisUrl, logger, prefix: env('BENCH_PREFIX') });
  built = buildApp({
    config,
    logger,
    db,
    signingKey,
    verifier,
    version: 'bench',
    ingest: { registry, inbox: new PostgresInbox(db), queue },
    tokenRouter: tokenEndpoint({ db, registry, signingKey, publicUrl: config.publicUrl, logger }),
  });
  await projectOrganizations(registry, built.repo, config.canonicalBase);
} else {
  built = buildApp({ config, logger, db, signingKey, verifier, version: 'bench' });
}

const server: Server = await new Promise((resolve) => {
  const s = built.app.listen(port, '127.0.0.1', () => resolve(s));
});
if (role === 'gateway') {
  mllp = await startMllpListener({
    port: 0,
    host: '127.0.0.1',
    maxMessageBytes: config.maxBodyBytes,
    idleTimeoutMs: 5 * 60_000,
    logger,
    handle: built.acceptMllp!,
  });
}

let closing = false;
const close = async () => {
  if (closing) return;
  closing = true;
  await mllp?.close().catch(() => undefined);
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await queue?.close().catch(() => undefined);
  await db.close().catch(() => undefined);
  process.exit(0);
};
process.once('SIGTERM', () => void close());
process.once('SIGINT', () => void close());

serveIpc().ready({
  url: config.publicUrl,
  port,
  pid: process.pid,
  ...(mllp ? { mllpPort: mllp.port } : {}),
} satisfies ServerInfo);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port: p } = s.address() as net.AddressInfo;
      s.close(() => resolve(p));
    });
  });
}
