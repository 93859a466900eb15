/**
 * The bench's own channel to its child processes (gateway, repository, worker): Node IPC, so the
 * children's stdout stays free for the product's logs. The child answers `usage` (its own CPU),
 * `profile-start` / `profile-stop` (a V8 CPU profile through `inspector`) and whatever `extra`
 * ops it registers; the parent spawns, waits for `ready`, and calls.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Usage {
  /** process.cpuUsage(): microseconds since the process started. */
  userUs: number;
  systemUs: number;
  rssBytes: number;
}

interface Request {
  seq: number;
  op: string;
  arg?: unknown;
}

type Handler = (arg: unknown) => Promise<unknown> | unknown;

/** Child side: answers the parent's requests; call `ready(info)` once listening. */
export function serveIpc(extra: Record<string, Handler> = {}): { ready(info: object): void } {
  if (!process.send) throw new Error('bench child started without an IPC channel');
  let session: Session | undefined;
  const ops: Record<string, Handler> = {
    usage: (): Usage => {
      const u = process.cpuUsage();
      return { userUs: u.user, systemUs: u.system, rssBytes: process.memoryUsage().rss };
    },
    'profile-start': async () => {
      session = new Session();
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 500 });
      await session.post('Profiler.start');
      return true;
    },
    'profile-stop': async (file) => {
      if (!session) throw new Error('no profile running');
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      session = undefined;
      await writeFile(String(file), JSON.stringify(profile));
      return file;
    },
    ...extra,
  };
  process.on('message', (m: Request) => {
    const handler = ops[m.op];
    Promise.resolve()
      .then(() => (handler ? handler(m.arg) : Promise.reject(new Error(`unknown op ${m.op}`))))
      .then(
        (value) => process.send!({ seq: m.seq, value }),
        (err: Error) => process.send!({ seq: m.seq, error: err.message }),
      );
  });
  // The parent gone (a crash, Ctrl-C) means this child's work is over too.
  process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  return { ready: (info) => process.send!({ seq: 0, value: info }) };
}

export interface Child<Info> {
  name: string;
  pid: number;
  info: Info;
  call<T>(op: string, arg?: unknown): Promise<T>;
  /** SIGTERM, then wait for the exit (SIGKILL after 15 s). */
  stop(): Promise<void>;
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Spawns `node --import tsx <script>` from the repo root and waits for its `ready` message. */
export async function spawnChild<Info>(
  name: string,
  script: string,
  env: Record<string, string>,
): Promise<Child<Info>> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    // The product logs to stderr (pino, fd 2): drained here and dropped, as a log collector would
    // take it away; the last lines are printed if the child dies before it is asked to stop.
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let tail = '';
  let stopping = false;
  child.stderr!.on('data', (c: Buffer) => (tail = (tail + c.toString('utf8')).slice(-4000)));
  child.once('exit', (code) => {
    if (!stopping && code !== 0) console.error(`${name} exited (code ${code}); last output:\n${tail}`);
  });
  let seq = 0;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const info = await new Promise<Info>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`${name} exited (code ${code}) before ready`));
    child.once('exit', onExit);
    child.on('message', (m: { seq: number; value?: unknown; error?: string }) => {
      if (m.seq === 0) {
        child.off('exit', onExit);
        resolve(m.value as Info);
        return;
      }
      const p = pending.get(m.seq);
      pending.delete(m.seq);
      if (m.error !== undefined) p?.reject(new Error(`${name}: ${m.error}`));
      else p?.resolve(m.value);
    });
  });
  child.on('exit', () => {
    for (const p of pending.values()) p.reject(new Error(`${name} exited`));
    pending.clear();
  });
  return {
    name,
    pid: child.pid!,
    info,
    call: <T>(op: string, arg?: unknown) =>
      new Promise<T>((resolve, reject) => {
        const s = ++seq;
        pending.set(s, { resolve: resolve as (v: unknown) => void, reject });
        child.send({ seq: s, op, arg });
      }),
    stop: async () => {
      stopping = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
