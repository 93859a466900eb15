import { Registry } from 'prom-client';
import type { Server } from 'node:http';
import { mkdir, readFile } from 'node:fs/promises';
import { ConfigError, loadConfig } from '../config/load-config.ts';
import { Database } from '../db/database.ts';
import { migrate } from '../db/migrate.ts';
import { createLogger, type Logger } from '../kernel/logger.ts';
import { loadOrCreateSigningKey } from '../auth/signing-key.ts';
import { createTokenVerifier } from '../auth/verify-token.ts';
import { buildApp } from './build-app.ts';
import { publishNamingSystems } from './publish-definitions.ts';
import { tokenEndpoint } from '../auth/backend-services/token-endpoint.ts';
import { PostgresInbox } from '../inbox/postgres-inbox.ts';
import { ensureDemoKeys } from '../institutions/institution-keys.ts';
import { projectOrganizations } from '../institutions/organizations.ts';
import { projectPractitioners } from '../institutions/practitioner-resources.ts';
import { PostgresInstitutionRegistry } from '../institutions/postgres-registry.ts';
import { seedInstitutions } from '../institutions/seed.ts';
import { startMllpListener } from '../ingest/mllp/index.ts';
import { startWorkerParts } from './main-worker.ts';
import { DEFAULT_MAPPINGS_DIR } from '../mapping/engine/index.ts';
import { createLiveMappings } from '../mapping/live/index.ts';
import { loadSensitivityRules } from '../mapping/sensitivity/index.ts';
import { pingRedis, queueBoard } from './queue-board.ts';
import { startEmbeddedPostgres } from './embedded/embedded-postgres.ts';
import { startEmbeddedRedis } from './embedded/embedded-redis.ts';
import { removeRuntimeFile, runningLauncher, writeRuntimeFile } from './runtime-file.ts';
import { createShutdown, flushThenExit } from './shutdown.ts';
import { explainClientErrors } from './http/client-error.ts';
import { createDemoLoad, demoLoadWanted, sqlArchiveCounts } from '../demo/load/index.ts';

/**
 * `npm start`: the whole system on one process. Every resource registers its cleanup with the
 * shutdown as soon as it exists, so a failure half-way (or a signal during start-up) still stops
 * what was started — above all the embedded PostgreSQL, which would otherwise outlive us.
 */
export async function main(env: Record<string, string | undefined> = process.env): Promise<void> {
  let config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`county-hie: configuration error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  const shutdown = createShutdown({ logger });
  shutdown.installSignalHandlers();
  process.on('uncaughtException', (err) => fail(logger, shutdown.run('uncaught exception'), err));
  process.on('unhandledRejection', (err) => fail(logger, shutdown.run('unhandled rejection'), err));

  try {
    await mkdir(config.dataDir, { recursive: true });
    const running = await runningLauncher(config.dataDir);
    if (running) {
      process.stderr.write(
        `county-hie: already running from ${config.dataDir} (pid ${running.pid}, ${running.publicUrl}); ` +
          `stop it first (kill ${running.pid}) or set HIE_DATA_DIR to another folder\n`,
      );
      process.exit(1);
    }
    // Registered first so that it runs last, after the servers it describes have stopped.
    shutdown.add('runtime file', () => removeRuntimeFile(config.dataDir));

    let databaseUrl = config.databaseUrl;
    let postgres = null;
    if (databaseUrl === undefined) {
      const pg = await startEmbeddedPostgres({ dataDir: config.dataDir, logger });
      shutdown.add('embedded PostgreSQL', pg.stop);
      databaseUrl = pg.url;
      postgres = { pid: pg.pid, port: pg.port };
    }
    let redisUrl = config.redisUrl;
    let redis = null;
    if (redisUrl === undefined) {
      // Nothing in this process uses Redis yet; the worker (a separate process) finds it through runtime.json.
      const r = await startEmbeddedRedis({ dataDir: config.dataDir, logger });
      shutdown.add('embedded Redis', r.stop);
      redisUrl = r.url;
      redis = { pid: r.pid, port: r.port };
    }

    const db = new Database(databaseUrl, { logger, applicationName: 'county-hie-gateway' });
    shutdown.add('database pool', () => db.close());
    const applied = await migrate(db);
    if (applied.length > 0) logger.info({ applied }, 'database migrations applied');

    const signingKey = await loadOrCreateSigningKey(config.dataDir);
    const verifier = createTokenVerifier({
      publicUrl: config.publicUrl,
      signingKey,
      trustedIssuers: config.trustedIssuers,
    });
    // The registry: the file in the repo seeds the table, which is authoritative.
    const seeded = await seedInstitutions(db);
    if (seeded.inserted.length > 0) logger.info({ inserted: seeded.inserted }, 'institutions seeded');
    for (const s of seeded.skipped) logger.warn(s, 'institution in the registry file not seeded');
    if (config.demoIssuer) {
      const keyed = await ensureDemoKeys(db, config.dataDir);
      if (keyed.length > 0) logger.info({ institutions: keyed }, 'demo keys created for institutions');
    }
    const registry = new PostgresInstitutionRegistry(db);
    // Mapping files are data IT staff edit: a broken one stops the start with file, line and reason.
    const mappings = await createLiveMappings(DEFAULT_MAPPINGS_DIR, { logger });
    shutdown.add('mapping watcher', () => mappings.close());
    const sensitivity = loadSensitivityRules(undefined, { canonicalBase: config.canonicalBase });

    // The worker runs beside the gateway; `npm run worker` runs more of them elsewhere.
    const queueUrl = redisUrl;
    const metricsRegistry = new Registry();
    const workerParts = startWorkerParts({
      config,
      logger,
      db,
      redisUrl: queueUrl,
      signingKey,
      metricsRegistry,
    });
    shutdown.add('worker', () => workerParts.close(), { beforeDrain: true });
    const board = queueBoard(queueUrl);
    shutdown.add('queue dashboard', () => board.close());
    const inbox = new PostgresInbox(db);
    // The demo county (HIE_DEMO_COUNTY): readiness waits for it; it starts once everything listens.
    // It counts its progress in the archive with one query instead of polling the HTTP API.
    const demo = demoLoadWanted(config)
      ? createDemoLoad({ config, logger, signingKey, countArchive: sqlArchiveCounts(db) })
      : undefined;
    const built = buildApp({
      config,
      logger,
      db,
      signingKey,
      verifier,
      version: await packageVersion(),
      metricsRegistry,
      ingest: {
        registry,
        inbox,
        queue: workerParts.queue,
        mappings,
        sensitivity,
        adminRouters: [board.router],
      },
      tokenRouter: tokenEndpoint({ db, registry, signingKey, publicUrl: config.publicUrl, logger }),
      readiness: [{ name: 'redis', check: () => pingRedis(queueUrl) }, ...(demo ? [demo.readiness] : [])],
    });
    shutdown.add('audit trail', () => built.audit.close());
    const organizations = await projectOrganizations(registry, built.repo, config.canonicalBase);
    await projectPractitioners(registry, built.repo, config.canonicalBase);
    const namingSystems = await publishNamingSystems(built.repo);
    if (namingSystems.length > 0) logger.info({ written: namingSystems }, 'NamingSystems published');
    if (organizations.written.length > 0)
      logger.info({ written: organizations.written }, 'institutions projected to Organizations');
    const server = await listen(built.app, config.port);
    shutdown.setServer(server);
    const tls = config.mllpTls;
    const mllp = await startMllpListener({
      port: config.mllpPort,
      ...(tls
        ? {
            tls: {
              cert: await readFile(tls.certFile),
              key: await readFile(tls.keyFile),
              ca: await readFile(tls.caFile),
              requestCert: true,
            },
          }
        : {}),
      maxMessageBytes: config.maxBodyBytes,
      idleTimeoutMs: 5 * 60_000,
      logger,
      handle: built.acceptMllp!,
    });
    shutdown.add('MLLP listener', () => mllp.close());

    const fhirUrl = `${config.publicUrl}/fhir`;
    await writeRuntimeFile(config.dataDir, {
      pid: process.pid,
      startedAt: new Date().toISOString(),
      publicUrl: config.publicUrl,
      fhirUrl,
      port: config.port,
      mllpPort: config.mllpPort,
      databaseUrl,
      redisUrl,
      demoIssuer: config.demoIssuer,
      postgres,
      redis,
    });
    // The hint must work as typed: name the data folder when it is not the default one.
    const envPrefix = env.HIE_DATA_DIR?.trim() ? `HIE_DATA_DIR=${config.dataDir} ` : '';
    const hint = config.demoIssuer ? ` — get a token with: ${envPrefix}npx hie token admin` : '';
    logger.info({ fhirUrl, dataDir: config.dataDir }, `County HIE is running at ${fhirUrl}${hint}`);
    if (demo) {
      shutdown.add('demo county load', () => demo.stop(), { beforeDrain: true });
      demo.start(envPrefix);
    }
  } catch (err) {
    fail(logger, shutdown.run('start-up failed'), err);
  }
}

/** Logs the cause, lets the shutdown stop what started, exits 1. */
function fail(logger: Logger, stopping: Promise<void>, err: unknown): void {
  logger.fatal(
    { err: err instanceof Error ? { message: err.message, stack: err.stack } : String(err) },
    'County HIE stopped on an error',
  );
  void stopping.then(() => flushThenExit(logger, 1));
}

function listen(app: import('express').Express, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port);
    explainClientErrors(server);
    server.once('listening', () => resolve(server));
    server.once('error', reject);
  });
}

async function packageVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version?: string;
  };
  return pkg.version ?? '0.0.0';
}
