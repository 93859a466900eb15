import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Runs `node bin/run-ts.mjs <fixture> …` and resolves with its first stdout line parsed as JSON. */
export function spawnFixture(fixture: string, args: string[]): Promise<{ child: ChildProcess; line: any }> {
  const child = spawn(
    process.execPath,
    [path.join(REPO_ROOT, 'bin/run-ts.mjs'), path.join(REPO_ROOT, fixture), ...args],
    {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stderr!.on('data', (c) => (err += c));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (c) => {
      out += c;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve({ child, line: JSON.parse(out.slice(0, nl)) });
    });
    child.on('exit', (code) => reject(new Error(`${fixture} exited with ${code}: ${err}`)));
  });
}

/** SIGKILL, and wait until the kernel has taken the process away. */
export function killHard(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
