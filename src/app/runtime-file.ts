import { unlink } from 'node:fs/promises';
import path from 'node:path';
import { commandLineOf, isAlive } from './embedded/processes.ts';
import { readJsonIfExists, writeJsonAtomic } from './embedded/json-file.ts';

/**
 * `<dataDir>/runtime.json`: how a separate process (the worker, the `hie` command) finds the
 * running system and its embedded servers. It holds the database URL with its password, hence
 * mode 0600; written atomically so a reader never sees half of it.
 */
export interface RuntimeInfo {
  /** The launcher's pid. */
  pid: number;
  startedAt: string;
  publicUrl: string;
  fhirUrl: string;
  port: number;
  mllpPort: number;
  databaseUrl: string;
  redisUrl: string;
  demoIssuer: boolean;
  /** `null` when `DATABASE_URL` named an external server. */
  postgres: { pid: number | undefined; port: number } | null;
  /** `null` when `REDIS_URL` named an external server. */
  redis: { pid: number | undefined; port: number } | null;
}

export function runtimeFilePath(dataDir: string): string {
  return path.join(dataDir, 'runtime.json');
}

export async function writeRuntimeFile(dataDir: string, info: RuntimeInfo): Promise<void> {
  await writeJsonAtomic(runtimeFilePath(dataDir), info);
}

export async function readRuntimeFile(dataDir: string): Promise<RuntimeInfo | undefined> {
  return readJsonIfExists<RuntimeInfo>(runtimeFilePath(dataDir));
}

/**
 * The runtime file and whether its launcher still runs: after a crash the file stays behind,
 * and a reader should know the URLs in it may not answer.
 */
export async function readRuntimeStatus(
  dataDir: string,
): Promise<{ info: RuntimeInfo; running: boolean } | undefined> {
  const info = await readRuntimeFile(dataDir);
  return info && { info, running: isAlive(info.pid) };
}

/** Removes the file only when it is ours, so a stopping launcher never deletes a newer one's. */
export async function removeRuntimeFile(dataDir: string, ownerPid: number = process.pid): Promise<void> {
  const info = await readRuntimeFile(dataDir).catch(() => undefined);
  if (info && info.pid !== ownerPid) return;
  await unlink(runtimeFilePath(dataDir)).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

/**
 * The launcher that is still running on this data folder, if any. A second `npm start` on the
 * same folder would otherwise take the first one's embedded servers for leftovers of a crash and
 * stop them under it. A pid reused by another program (not node) means the file is stale.
 */
export async function runningLauncher(dataDir: string): Promise<RuntimeInfo | undefined> {
  const info = await readRuntimeFile(dataDir).catch(() => undefined);
  if (!info || info.pid === process.pid || !isAlive(info.pid)) return undefined;
  const command = await commandLineOf(info.pid);
  if (command === undefined || !/(^|[/\s])node(\s|$)/.test(command)) return undefined;
  return info;
}
