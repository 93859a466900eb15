import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runningLauncher, writeRuntimeFile } from '../../src/app/runtime-file.ts';

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function folderRunBy(pid: number): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hie-runtime-'));
  dirs.push(dir);
  await writeRuntimeFile(dir, {
    pid,
    startedAt: new Date().toISOString(),
    publicUrl: 'http://localhost:48124',
    fhirUrl: 'http://localhost:48124/fhir',
    port: 48124,
    mllpPort: 48125,
    databaseUrl: 'postgres://x@127.0.0.1:1/hie',
    redisUrl: 'redis://127.0.0.1:1',
    demoIssuer: true,
    postgres: null,
    redis: null,
  });
  return dir;
}

function started(command: string, args: string[]): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: 'ignore' });
  children.push(child);
  return new Promise((resolve) => child.once('spawn', () => resolve(child)));
}

describe('the launcher already running on a data folder', () => {
  it('is the node process runtime.json names while it runs', async () => {
    const node = await started(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    const dir = await folderRunBy(node.pid!);
    expect((await runningLauncher(dir))?.pid).toBe(node.pid);
  });

  it('is nobody once that process is gone, or when its pid now belongs to another program', async () => {
    const node = await started(process.execPath, ['-e', '']);
    await new Promise((r) => node.once('exit', r));
    expect(await runningLauncher(await folderRunBy(node.pid!))).toBeUndefined();
    const other = await started('sleep', ['30']);
    expect(await runningLauncher(await folderRunBy(other.pid!))).toBeUndefined();
  });

  it('is nobody without a runtime file, or when the file names this very process', async () => {
    const empty = await mkdtemp(path.join(os.tmpdir(), 'hie-runtime-'));
    dirs.push(empty);
    expect(await runningLauncher(empty)).toBeUndefined();
    expect(await runningLauncher(await folderRunBy(process.pid))).toBeUndefined();
  });
});
