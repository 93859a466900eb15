import { readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../kernel/logger.ts';
import { commandLineOf, isAlive, waitForExit } from './processes.ts';

/**
 * Clears the way after a crash. When the launcher was killed, its PostgreSQL keeps running and
 * still holds `postmaster.pid`; when the machine went down, the file stays behind with a dead pid
 * (which a later process may have taken). We stop our own leftover server with a fast shutdown
 * (SIGINT: roll back open transactions, checkpoint, exit) and remove a pid file nobody owns.
 */
export async function clearStalePostmaster(pgData: string, logger: Logger): Promise<void> {
  const pidFile = path.join(pgData, 'postmaster.pid');
  let lines: string[];
  try {
    lines = (await readFile(pidFile, 'utf8')).split('\n');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const pid = Number.parseInt(lines[0] ?? '', 10);
  if (await isOurPostmaster(pid, pgData)) {
    logger.warn(
      { pid, port: lines[3]?.trim() },
      'embedded PostgreSQL left running by an earlier start: stopping it (fast shutdown)',
    );
    process.kill(pid, 'SIGINT');
    if (!(await waitForExit(pid, 60_000))) {
      // Fast shutdown waits for nothing but a checkpoint; still there after a minute means stuck.
      logger.error(
        { pid },
        'the leftover PostgreSQL did not stop; sending SIGQUIT (it will recover from its WAL)',
      );
      process.kill(pid, 'SIGQUIT');
      if (!(await waitForExit(pid, 10_000)))
        throw new Error(`PostgreSQL pid ${pid} in ${pgData} does not stop; stop it by hand`);
    }
    // A stopped server removes its pid file; an interrupted one may not.
    await unlink(pidFile).catch(() => undefined);
    return;
  }
  logger.warn({ pidFile, pid }, 'removing a stale postmaster.pid (its process is gone)');
  await unlink(pidFile).catch(() => undefined);
}

/** Alive, a PostgreSQL binary, and serving this data folder: a reused pid must never be signalled. */
async function isOurPostmaster(pid: number, pgData: string): Promise<boolean> {
  if (!isAlive(pid)) return false;
  const cmd = await commandLineOf(pid);
  return cmd !== undefined && /postgres/.test(cmd) && cmd.includes(pgData);
}
