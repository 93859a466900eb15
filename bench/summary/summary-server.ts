import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { HttpClient } from '../support/http-client.ts';
import type { ServerUsage } from '../support/server-process.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');

export interface SummaryServer {
  fhirUrl: string;
  /** A clinician token of `institution` (user/*.rs, hie_roles ['clinician']). */
  token: string;
  http: HttpClient;
  usage(): Promise<ServerUsage>;
  stop(): Promise<void>;
}

/**
 * Starts `serve-summary.ts` in a child Node process and waits for its JSON line; its HTTP client
 * carries the clinician token. BENCH_CPU_PROF=<dir> makes the server write a V8 CPU profile there.
 */
export async function startSummaryServer(
  databaseUrl: string,
  institution: string,
  sockets: number,
): Promise<SummaryServer> {
  const prof = process.env.BENCH_CPU_PROF
    ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.BENCH_CPU_PROF)}`]
    : [];
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', path.join(HERE, 'serve-summary.ts')], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: databaseUrl, BENCH_INSTITUTION: institution },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const info = await firstLine(child);
  const http = new HttpClient(info.url, info.token, sockets);
  return {
    fhirUrl: info.fhirUrl,
    token: info.token,
    http,
    usage: async () =>
      JSON.parse((await http.request('GET', `${info.url}/__bench/usage`)).body) as ServerUsage,
    stop: async () => {
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
      reject(new Error(`summary server exited (code ${code}) before it was ready`));
    child.once('exit', onExit);
    lines.once('line', (line) => {
      child.off('exit', onExit);
      resolve(JSON.parse(line));
    });
  });
}
