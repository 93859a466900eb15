import type { Registry } from 'prom-client';
import { createWorkerMetrics } from '../queue/worker-metrics.ts';
import { ConfigError, type Config, loadConfig } from '../config/load-config.ts';
import { Database } from '../db/database.ts';
import { migrate } from '../db/migrate.ts';
import { createLogger, type Logger } from '../kernel/logger.ts';
import { loadOrCreateSigningKey, type SigningKey } from '../auth/signing-key.ts';
import { fhirPatientRepository } from '../identity/fhir-patients.ts';
import { createIdentityLinker } from '../identity/linker.ts';
import { fhirMergeCompleter } from '../identity/merge/fhir-merge-client.ts';
import { loadMatchRules } from '../identity/match/rules.ts';
import { PostgresInbox } from '../inbox/postgres-inbox.ts';
import { createIngestQueue, DEFAULT_ATTEMPTS, type ReconcilableQueue } from '../queue/ingest-queue.ts';
import { startIngestWorker } from '../queue/ingest-worker.ts';
import { checkEvictionPolicy } from '../queue/eviction-policy.ts';
import { startReconciler } from '../queue/reconciler.ts';
import { createRepositoryWriter, type TokenSource, workerTokenSource } from '../queue/repository-writer.ts';
import { readRuntimeFile } from './runtime-file.ts';
import { createShutdown, flushThenExit } from './shutdown.ts';

export interface WorkerPartsOptions {
  config: Config;
  logger: Logger;
  db: Database;
  redisUrl: string;
  /** Signs the `hie-worker` tokens; or give `token` (an external server's token, a test's). */
  signingKey?: SigningKey;
  token?: TokenSource;
  /** BullMQ key prefix; the default is shared by gateway and worker. */
  prefix?: string;
  concurrency?: number;
  maxAttempts?: number;
  backoffMs?: number;
  reconcileEveryMs?: number;
  reconcileGraceMs?: number;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** Prometheus registry of the process (the gateway's, when both run in one process). */
  metricsRegistry?: Registry;
}

export interface WorkerParts {
  /** The producer side too, for a gateway in the same process. */
  queue: ReconcilableQueue;
  /** Reconciler first (it feeds the queue), then the worker (it finishes its jobs), then the queue. */
  close(): Promise<void>;
}

/**
 * Worker + reconciler + queue, built from config. `npm run worker` runs them alone; `npm start`
 * may call this to run them beside the gateway. The caller owns `db` and closes it afterwards.
 */
export function startWorkerParts(o: WorkerPartsOptions): WorkerParts {
  const inbox = new PostgresInbox(o.db);
  const maxAttempts = o.maxAttempts ?? DEFAULT_ATTEMPTS;
  const queue = createIngestQueue({
    redisUrl: o.redisUrl,
    logger: o.logger,
    attempts: maxAttempts,
    ...(o.prefix ? { prefix: o.prefix } : {}),
    ...(o.backoffMs ? { backoffMs: o.backoffMs } : {}),
  });
  const token = o.token ?? workerTokenSource(required(o.signingKey), o.config.publicUrl);
  const identity = createIdentityLinker({
    db: o.db,
    rules: loadMatchRules(),
    canonicalBase: o.config.canonicalBase,
    repository: fhirPatientRepository({ fhirBaseUrl: o.config.fhirBaseUrl, token }),
    // An ADT A40 the pipeline wrote finishes as Patient/$merge on the repository (re-pointing).
    merges: fhirMergeCompleter({ fhirBaseUrl: o.config.fhirBaseUrl, token }),
    logger: o.logger,
  });
  const writer = createRepositoryWriter({
    fhirBaseUrl: o.config.fhirBaseUrl,
    canonicalBase: o.config.canonicalBase,
    token,
    identity,
  });
  // Once per worker start; it never rejects (a Redis that cannot be asked is only noted).
  void checkEvictionPolicy(o.redisUrl, o.logger);
  const worker = startIngestWorker({
    redisUrl: o.redisUrl,
    inbox,
    writer,
    logger: o.logger,
    concurrency: o.concurrency ?? 8,
    maxAttempts,
    ...(o.prefix ? { prefix: o.prefix } : {}),
    ...(o.lockDurationMs ? { lockDurationMs: o.lockDurationMs } : {}),
    ...(o.stalledIntervalMs ? { stalledIntervalMs: o.stalledIntervalMs } : {}),
    ...(o.metricsRegistry ? { metrics: createWorkerMetrics(o.metricsRegistry) } : {}),
  });
  const reconciler = startReconciler({
    inbox,
    queue,
    intervalMs: o.reconcileEveryMs ?? 30_000,
    graceMs: o.reconcileGraceMs ?? 60_000,
    logger: o.logger,
  });
  return {
    queue,
    async close() {
      await reconciler.close();
      await worker.close();
      await queue.close();
    },
  };
}

function required(key: SigningKey | undefined): SigningKey {
  if (!key) throw new Error('startWorkerParts needs a signingKey or a token source');
  return key;
}

/** DATABASE_URL / REDIS_URL from the environment, else from the running system's runtime.json. */
export async function resolveServerUrls(config: Config): Promise<{ databaseUrl: string; redisUrl: string }> {
  const runtime =
    config.databaseUrl && config.redisUrl
      ? undefined
      : await readRuntimeFile(config.dataDir).catch(() => undefined);
  const databaseUrl = config.databaseUrl ?? runtime?.databaseUrl;
  const redisUrl = config.redisUrl ?? runtime?.redisUrl;
  if (!databaseUrl || !redisUrl) {
    const missing = [!databaseUrl && 'DATABASE_URL', !redisUrl && 'REDIS_URL'].filter(Boolean).join(' and ');
    throw new ConfigError(
      missing.split(' ')[0]!,
      `${missing} not set, and no running system found in ${config.dataDir}/runtime.json — start one with \`npm start\` or set the variables`,
    );
  }
  return { databaseUrl, redisUrl };
}

/** `npm run worker`. */
export async function main(env: Record<string, string | undefined> = process.env): Promise<void> {
  let config: Config;
  let urls: { databaseUrl: string; redisUrl: string };
  try {
    config = loadConfig(env);
    urls = await resolveServerUrls(config);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`county-hie worker: configuration error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel, 'hie-worker');
  const shutdown = createShutdown({ logger });
  shutdown.installSignalHandlers();
  const stop = (reason: string, err: unknown) => {
    logger.fatal({ err: err instanceof Error ? err.message : String(err) }, `worker stopped: ${reason}`);
    void shutdown.run(reason).then(() => flushThenExit(logger, 1));
  };
  process.on('uncaughtException', (err) => stop('uncaught exception', err));
  process.on('unhandledRejection', (err) => stop('unhandled rejection', err));
  try {
    const db = new Database(urls.databaseUrl, { logger, applicationName: 'county-hie-worker' });
    shutdown.add('database pool', () => db.close());
    // The worker may start before the gateway ever did; migrations take turns under a lock.
    await migrate(db);
    const signingKey = await loadOrCreateSigningKey(config.dataDir);
    const parts = startWorkerParts({ config, logger, db, redisUrl: urls.redisUrl, signingKey });
    shutdown.add('worker', () => parts.close());
    logger.info({ fhirBaseUrl: config.fhirBaseUrl }, 'County HIE worker is running');
  } catch (err) {
    stop('start-up failed', err);
  }
}
