import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, readlink, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../kernel/logger.ts';
import type { EmbeddedServer } from './embedded-postgres.ts';

export type { EmbeddedServer };
import { readJsonIfExists, writeJsonAtomic } from './json-file.ts';
import { choosePort, commandLineOf, isAlive, sleep, waitForExit } from './processes.ts';
import { redisAnswers } from './redis-ping.ts';

/** BullMQ (the ingestion queue) needs Redis 5 or newer. */
const MIN_MAJOR = 5;

/** Redis servers this process started and has not stopped yet. */
const running = new Set<number>();
// They run in their own process group (so a terminal's Ctrl-C reaches us first and we stop them
// in order); if this process ends without a shutdown, do not leave them orphaned.
process.on('exit', () => {
  for (const pid of running) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
});

interface RedisState {
  password: string;
  port?: number;
}

export class RedisMissingError extends Error {
  constructor(command: string) {
    super(
      `${command} was not found on PATH. The embedded Redis (used when REDIS_URL is unset) needs it: ` +
        'on Debian/Ubuntu `sudo apt-get install -y redis-server`, on macOS `brew install redis`; ' +
        'or set REDIS_URL to a Redis 5 or newer you already run.',
    );
    this.name = 'RedisMissingError';
  }
}

/**
 * `redis-server` from PATH with its data in `<dataDir>/redis`, loopback only, a password, and the
 * append-only file on (each write logged, fsync every second; no RDB snapshots).
 */
export async function startEmbeddedRedis(opts: {
  dataDir: string;
  logger: Logger;
  command?: string;
}): Promise<EmbeddedServer> {
  const command = opts.command ?? 'redis-server';
  const logger = opts.logger.child({ component: 'embedded-redis' });
  const version = await redisVersion(command);
  if (version.major < MIN_MAJOR) {
    logger.warn(
      { version: version.text },
      `redis-server ${version.text} is older than ${MIN_MAJOR}.0: the ingestion queue (BullMQ) will not work; install a newer Redis or set REDIS_URL`,
    );
  }
  const dir = path.join(opts.dataDir, 'redis');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const statePath = path.join(opts.dataDir, 'redis.json');
  const saved = await readJsonIfExists<RedisState>(statePath);
  const state: RedisState = saved?.password ? saved : { password: randomBytes(24).toString('hex') };
  const pidFile = path.join(dir, 'redis.pid');
  await clearStaleRedis(pidFile, dir, state.port, logger);

  const port = await choosePort(state.port);
  await writeJsonAtomic(statePath, { ...state, port });
  // The password goes in a private config file, not on the command line where `ps` shows it.
  const confPath = path.join(dir, 'redis.conf');
  await writeRedisConfig(confPath, state.password);
  const logFile = path.join(dir, 'redis.log');
  const args = [
    confPath,
    ...['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--appendonly', 'yes'],
    ...['--pidfile', pidFile, '--daemonize', 'no', '--save', '', '--logfile', logFile],
  ];
  const child = spawn(command, args, { cwd: dir, detached: true, stdio: 'ignore' });
  let exited: string | undefined;
  child.on('exit', (code, signal) => {
    exited = `exit code ${code ?? signal}`;
    if (child.pid !== undefined) running.delete(child.pid);
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  const pid = child.pid;
  if (pid !== undefined) running.add(pid);

  const deadline = Date.now() + 30_000;
  while (!(await redisAnswers(port, state.password))) {
    if (exited !== undefined || Date.now() > deadline) {
      if (exited === undefined) child.kill('SIGKILL');
      throw new Error(
        `redis-server did not start (${exited ?? 'no answer within 30 s'}): ${await logTail(logFile)}`,
      );
    }
    await sleep(50);
  }
  logger.info({ port, pid, version: version.text, appendonly: 'yes' }, 'embedded Redis ready');

  return {
    url: `redis://:${state.password}@127.0.0.1:${port}`,
    port,
    pid,
    stop: async () => {
      if (pid === undefined || exited !== undefined) return;
      // SIGTERM: Redis fsyncs the append-only file and exits.
      child.kill('SIGTERM');
      if (!(await waitForExit(pid, 20_000))) {
        logger.error({ pid }, 'embedded Redis did not stop within 20 s; killing it');
        child.kill('SIGKILL');
        await waitForExit(pid, 5_000);
      }
      running.delete(pid);
      logger.info({ pid }, 'embedded Redis stopped');
    },
  };
}

/** `redis-server --version` → "7.0.15"; a missing binary becomes an error saying how to install it. */
export function redisVersion(command = 'redis-server'): Promise<{ text: string; major: number }> {
  return new Promise((resolve, reject) => {
    execFile(command, ['--version'], { timeout: 10_000 }, (err, stdout) => {
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT')
        return reject(new RedisMissingError(command));
      if (err) return reject(new Error(`${command} --version failed: ${err.message}`));
      const text = /v=(\d+\.\d+(?:\.\d+)?)/.exec(stdout)?.[1] ?? 'unknown';
      resolve({ text, major: Number.parseInt(text, 10) || 0 });
    });
  });
}

/**
 * A Redis left running by a launcher that was killed still holds our port and AOF: stop it
 * (SIGTERM fsyncs and exits). It is ours when it is a redis-server whose working folder is our
 * data folder (Linux), or that listens on the port we recorded. A stale file is removed.
 */
async function clearStaleRedis(
  pidFile: string,
  dir: string,
  recordedPort: number | undefined,
  logger: Logger,
): Promise<void> {
  let pid: number;
  try {
    pid = Number.parseInt(await readFile(pidFile, 'utf8'), 10);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const cmd = isAlive(pid) ? await commandLineOf(pid) : undefined;
  const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => undefined);
  const ours =
    cmd?.includes('redis-server') &&
    (cwd === dir || (recordedPort !== undefined && cmd.includes(`:${recordedPort}`)));
  if (ours) {
    logger.warn({ pid }, 'embedded Redis left running by an earlier start: stopping it');
    process.kill(pid, 'SIGTERM');
    if (!(await waitForExit(pid, 20_000))) {
      process.kill(pid, 'SIGKILL');
      await waitForExit(pid, 5_000);
    }
  } else {
    logger.warn({ pidFile, pid }, 'removing a stale Redis pid file (its process is gone)');
  }
  await unlink(pidFile).catch(() => undefined);
}

/** Only the password (hex, so no quoting) lives here; Redis reads it at start; private (0600). */
async function writeRedisConfig(confPath: string, password: string): Promise<void> {
  await writeFile(confPath, `# written by county-hie at each start\nrequirepass ${password}\n`, {
    mode: 0o600,
  });
  await chmod(confPath, 0o600);
}

async function logTail(logFile: string): Promise<string> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  return text.trim().split('\n').slice(-5).join(' | ') || '(no log)';
}
