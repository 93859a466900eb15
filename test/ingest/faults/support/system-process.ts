import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../../../app/spawn-helpers.ts';

/** `node bin/start.mjs` as an operator runs it, with its stderr kept for the failure message. */
export interface SystemProcess {
  child: ChildProcess;
  /** The last lines it logged (JSON lines on stderr). */
  log(): string;
  /** Resolves with the exit code (null when killed by a signal) and the signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startSystem(env: Record<string, string>): SystemProcess {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/start.mjs')], {
    cwd: os.tmpdir(),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const lines: string[] = [];
  let partial = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString('utf8')).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    if (lines.length > 400) lines.splice(0, lines.length - 400);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, log: () => [...lines, partial].join('\n'), exited };
}

/**
 * Stops a system a test left running: SIGTERM, and SIGKILL only after 30 s — never first, or the
 * embedded PostgreSQL and Redis would outlive it.
 */
export async function stopIfRunning(system: SystemProcess | undefined): Promise<void> {
  if (!system || system.child.exitCode !== null || system.child.signalCode !== null) return;
  system.child.kill('SIGTERM');
  const t = setTimeout(() => system.child.kill('SIGKILL'), 30_000);
  await system.exited;
  clearTimeout(t);
}

/** Polls `/readyz` until it answers 200; fails early when the process has exited. */
export async function waitReady(system: SystemProcess, url: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (system.child.exitCode !== null || system.child.signalCode !== null)
      throw new Error(`bin/start.mjs exited early (${system.child.exitCode}):\n${system.log().slice(-3000)}`);
    const status = await fetch(`${url}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() > until)
      throw new Error(`${url}/readyz not ready within ${timeoutMs} ms:\n${system.log().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** `node bin/hie.mjs …` → the last line of its stdout (the token). */
export function hieToken(args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/hie.mjs'), ...args], {
      cwd: os.tmpdir(),
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    p.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    p.on('close', (code) => {
      const token = out.trim().split('\n').at(-1) ?? '';
      if (code === 0 && token) resolve(token);
      else reject(new Error(`hie ${args.join(' ')} exited ${code}: ${err}`));
    });
  });
}

/**
 * What one POST on a connection of its own came to. `refused`: the TCP connection itself was
 * refused (the listener was closed); `answered`: a complete response; `cut`: the connection was
 * accepted but the response never came or came only in part.
 */
export type PostOutcome =
  | { kind: 'answered'; status: number; body: string; location: string | undefined }
  | { kind: 'refused' }
  | { kind: 'cut'; error: string; gotHeaders: boolean };

/**
 * POST with `agent: false` (a new connection per request, as many HL7 senders do): a request
 * is either refused at connect, or handled by the server, never parked on a keep-alive socket
 * the server is closing.
 */
export function postOnce(
  url: string,
  headers: Record<string, string>,
  body: Buffer,
  timeoutMs = 30_000,
): Promise<PostOutcome> {
  return new Promise((resolve) => {
    let gotHeaders = false;
    let settled = false;
    const done = (o: PostOutcome) => {
      if (settled) return;
      settled = true;
      resolve(o);
    };
    const req = http.request(
      url,
      { method: 'POST', agent: false, headers: { ...headers, 'content-length': String(body.length) } },
      (res) => {
        gotHeaders = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          // `end` after an abort is not a complete body.
          if (res.complete)
            done({
              kind: 'answered',
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).toString('utf8'),
              location: res.headers.location,
            });
          else done({ kind: 'cut', error: 'response ended before its end', gotHeaders });
        });
        res.on('aborted', () => done({ kind: 'cut', error: 'response aborted', gotHeaders }));
        res.on('error', (err) => done({ kind: 'cut', error: err.message, gotHeaders }));
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED' && !gotHeaders) done({ kind: 'refused' });
      else done({ kind: 'cut', error: `${err.code ?? ''} ${err.message}`, gotHeaders });
    });
    req.end(body);
  });
}
