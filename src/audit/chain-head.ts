import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * The chain head kept outside the database: the sequence number and hash of an event the
 * trail had written. Someone who can rewrite the table (and recompute every hash after their
 * edit, or cut the tail) cannot also reach back into this file, so `verify` compares the two.
 */
export interface ChainHead {
  sequence: number;
  hash: string;
}

let tempCounter = 0;

export function chainHeadPath(dataDir: string): string {
  return path.join(dataDir, 'audit', 'chain-head.json');
}

/** The head file, or undefined when none was written yet. A corrupt file is an error. */
export async function readChainHead(file: string): Promise<ChainHead | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const head = JSON.parse(text) as Partial<ChainHead>;
  if (
    !Number.isSafeInteger(head.sequence) ||
    typeof head.hash !== 'string' ||
    !/^[0-9a-f]{64}$/.test(head.hash)
  )
    throw new Error(`${file} is not a chain head ({"sequence", "hash"})`);
  return { sequence: head.sequence!, hash: head.hash };
}

/**
 * Writes the head atomically (temp file + rename), never moving it backwards: the gateway and
 * the worker both append, and the one that writes last may hold the older head.
 */
export async function writeChainHead(file: string, head: ChainHead): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const current = await readChainHead(file).catch(() => undefined);
  if (current && current.sequence >= head.sequence) return;
  const temp = `${file}.${process.pid}.${++tempCounter}.tmp`;
  try {
    await writeFile(temp, JSON.stringify({ sequence: head.sequence, hash: head.hash }) + '\n', {
      mode: 0o600,
      flush: true,
    });
    await rename(temp, file);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
}
