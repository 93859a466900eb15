import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { HttpClient } from './http-client.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SERVE = path.join(HERE, 'serve.ts');
/** The repo root, so `--import tsx` resolves from its node_modules wherever the bench was started. */
const ROOT = path.resolve(HERE, '..', '..');

export interface ServerUsage {
  maxRssKb: number;
  rssBytes: number;
  cpuUserUs: number;
  cpuSystemUs: number;
}

export interface ServerProcess {
  fhirUrl: string;
  token: string;
  pid: number;
  http: HttpClient;
  usage(): Promise<ServerUsage>;
  stop(): Promise<void>;
}

/**
 * Starts `serve.ts` in a child Node process on `databaseUrl` and waits for its JSON line. The
 * HTTP client carries an admin token, or with `clinicianOf` a clinician token of that institution.
 */
export async function startServerProcess(
  databaseUrl: string,
  sockets: number,
  opts: { clinicianOf?: string; env?: Record<string, string> } = {},
): Promise<ServerProcess> {
  // BENCH_CPU_PROF=<dir>: the server writes a V8 CPU profile there when it stops (where its time goes).
  const prof = process.env.BENCH_CPU_PROF
    ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.BENCH_CPU_PROF)}`]
    : [];
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', SERVE], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      ...(opts.clinicianOf ? { BENCH_INSTITUTION: opts.clinicianOf } : {}),
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const info = await firstLine(child);
  const http = new HttpClient(info.url, info.token, sockets);
  let stopping = false;
  // A server that dies under load says so, instead of leaving only the client's ECONNREFUSED.
  child.once('exit', (code, signal) => {
    if (!stopping) console.error(`bench server ${child.pid} exited unasked: code ${code}, signal ${signal}`);
  });
  return {
    fhirUrl: info.fhirUrl,
    token: info.token,
    pid: child.pid!,
    http,
    usage: async () =>
      JSON.parse((await http.request('GET', `${info.url}/__bench/usage`)).body) as ServerUsage,
    stop: async () => {
      stopping = true;
      http.close();
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function firstLine(child: ChildProcess): Promise<{ url: string; fhirUrl: string; token: string }> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const onExit = (code: number | null) =>
      reject(new Error(`bench server exited (code ${code}) before it was ready`));
    child.once('exit', onExit);
    lines.once('line', (line) => {
      child.off('exit', onExit);
      resolve(JSON.parse(line));
    });
  });
}
