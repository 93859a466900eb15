/**
 * Brings the system up for the bench and takes it down again: a database of its own (embedded
 * PostgreSQL in a temp dir unless DATABASE_URL is set), Redis with a key prefix of its own (the
 * machine's REDIS_URL / 6379, else an embedded redis-server in a temp dir), and the children:
 * gateway, repository (layout `split`; in `product` the gateway serves the repository as
 * `npm start` does) and worker.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startEmbeddedRedis } from '../../src/app/embedded/embedded-redis.ts';
import { adminClaims, institutionClaims, issueToken } from '../../src/auth/issue-token.ts';
import { loadOrCreateSigningKey, type SigningKey } from '../../src/auth/signing-key.ts';
import { Database } from '../../src/db/database.ts';
import { migrate } from '../../src/db/migrate.ts';
import type { Logger } from '../../src/kernel/logger.ts';
import { openBenchPostgres } from '../support/bench-postgres.ts';
import { HttpClient } from '../support/http-client.ts';
import { type Child, spawnChild } from './child-ipc.ts';
import { clearPrefix, postmasterPid, redisCpuMs } from './observe.ts';
import type { System } from './phase.ts';
import type { ServerInfo } from './server-child.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const INSTITUTION = 'county-peoples-hospital';
export const CANONICAL_BASE = 'https://county-hie.org/fhir';

export interface Running extends System {
  layout: 'split' | 'product';
  where: { postgres: string; redis: string };
  databaseUrl: string;
  gateway: Child<ServerInfo>;
  repository: Child<ServerInfo>;
  worker: Child<unknown>;
  signingKey: SigningKey;
  institutionToken: string;
  close(): Promise<void>;
}

export async function startSystem(logger: Logger, layout: 'split' | 'product'): Promise<Running> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch((e: Error) => console.error(e.message));
  };
  try {
    const bp = await openBenchPostgres(logger);
    cleanups.push(() => bp.close());
    const databaseUrl = await bp.createDatabase('ingest');
    const db = new Database(databaseUrl, { logger, max: 1 });
    await migrate(db);
    await db.close();

    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hie-bench-ingest-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const signingKey = await loadOrCreateSigningKey(dataDir);

    let redisUrl = process.env.REDIS_URL?.trim() || 'redis://127.0.0.1:6379';
    let redisWhere = `${redisUrl} (shared; own key prefix)`;
    if (
      !(await redisCpuMs(redisUrl).then(
        () => true,
        () => false,
      ))
    ) {
      const r = await startEmbeddedRedis({ dataDir: path.join(dataDir, 'redis-home'), logger });
      cleanups.push(() => r.stop());
      redisUrl = r.url;
      redisWhere = 'embedded redis-server in a temp dir';
    }
    const prefix = `hie-bench-ingest-${randomBytes(4).toString('hex')}`;
    cleanups.push(() => clearPrefix(redisUrl, prefix));

    const base = {
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      HIE_DATA_DIR: dataDir,
      BENCH_PREFIX: prefix,
    };
    const script = (f: string) => path.join(HERE, f);
    const gateway = await spawnChild<ServerInfo>('gateway', script('server-child.ts'), {
      ...base,
      BENCH_ROLE: 'gateway',
    });
    cleanups.push(() => gateway.stop());
    let repository = gateway;
    if (layout === 'split') {
      repository = await spawnChild<ServerInfo>('repository', script('server-child.ts'), {
        ...base,
        BENCH_ROLE: 'repository',
      });
      cleanups.push(() => repository.stop());
    }
    const worker = await spawnChild<unknown>('worker', script('worker-child.ts'), {
      ...base,
      BENCH_TARGET_PORT: String(repository.info.port),
    });
    cleanups.push(() => worker.stop());

    const publicUrl = gateway.info.url;
    const admin = new HttpClient(publicUrl, await issueToken(signingKey, adminClaims(publicUrl), 3600), 4);
    cleanups.push(async () => admin.close());
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    cleanups.push(() => pool.end());
    return {
      layout,
      where: { postgres: bp.where, redis: redisWhere },
      databaseUrl,
      gateway,
      repository,
      worker,
      children: layout === 'split' ? [gateway, repository, worker] : [gateway, worker],
      pool,
      postmasterPid: await postmasterPid(databaseUrl),
      redisUrl,
      prefix,
      admin,
      fhirUrl: `${publicUrl}/fhir`,
      canonicalBase: CANONICAL_BASE,
      institutionId: INSTITUTION,
      signingKey,
      institutionToken: await issueToken(signingKey, institutionClaims(publicUrl, INSTITUTION), 3600),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
