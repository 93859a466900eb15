import { execFile } from 'node:child_process';
import { chmod, lchown, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../kernel/logger.ts';

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** uid and gid of an OS user, or `undefined` when there is no such user. */
export function userIds(name: string): Promise<{ uid: number; gid: number } | undefined> {
  const ask = (flag: string) =>
    new Promise<number | undefined>((resolve) => {
      execFile('id', [flag, name], (err, stdout) => resolve(err ? undefined : Number.parseInt(stdout, 10)));
    });
  return Promise.all([ask('-u'), ask('-g')]).then(([uid, gid]) =>
    uid === undefined || gid === undefined || Number.isNaN(uid) || Number.isNaN(gid)
      ? undefined
      : { uid, gid },
  );
}

/**
 * Lets another OS user walk down to `dir` (search permission only, never read or write):
 * `mktemp -d` makes 0700 folders, and the PostgreSQL server, which may not run as root,
 * must reach its data folder under one. Returns the folders it changed so the caller can log them.
 */
export async function grantTraversal(dir: string): Promise<string[]> {
  const changed: string[] = [];
  let current = path.resolve(dir);
  for (;;) {
    const s = await stat(current);
    if ((s.mode & 0o001) === 0) {
      await chmod(current, (s.mode & 0o7777) | 0o001);
      changed.push(current);
    }
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
  }
  return changed;
}

/** Gives `dir` and everything in it to uid:gid when `dir` itself belongs to someone else. */
export async function ensureOwner(
  dir: string,
  ids: { uid: number; gid: number },
  logger: Logger,
): Promise<void> {
  const s = await stat(dir);
  if (s.uid === ids.uid) return;
  const entries = await readdir(dir, { recursive: true });
  await lchown(dir, ids.uid, ids.gid);
  for (const entry of entries) await lchown(path.join(dir, entry), ids.uid, ids.gid);
  logger.warn(
    { dir, uid: ids.uid, entries: entries.length + 1 },
    'gave the PostgreSQL data folder to the postgres OS user',
  );
}
