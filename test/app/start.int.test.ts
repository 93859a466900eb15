import { spawn, type ChildProcess } from 'node:child_process';
import { access, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readRuntimeFile, runtimeFilePath } from '../../src/app/runtime-file.ts';
import { freePort } from '../../src/app/embedded/processes.ts';
import { alive, REPO_ROOT } from './spawn-helpers.ts';

function run(file: string, args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [path.join(REPO_ROOT, file), ...args], {
    cwd: os.tmpdir(),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function waitReady(url: string, child: ChildProcess, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`npm start exited early with ${child.exitCode}`);
    const res = await fetch(`${url}/readyz`).catch(() => undefined);
    if (res?.status === 200) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url}/readyz not 200 within ${ms} ms`);
}

/** Runs `hie …` and collects its output. */
function cli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = run('bin/hie.mjs', args, env);
    let out = '';
    let err = '';
    p.stdout!.on('data', (c) => (out += c));
    p.stderr!.on('data', (c) => (err += c));
    p.on('close', (code) => resolve({ code, out, err }));
  });
}

const exists = (f: string) =>
  access(f).then(
    () => true,
    () => false,
  );

describe('npm start (bin/start.mjs) on the embedded default', () => {
  let dataDir: string;
  let child: ChildProcess | undefined;
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  it(
    'serves FHIR behind tokens, records runtime.json, and shuts down cleanly on SIGTERM',
    { timeout: 180_000 },
    async () => {
      dataDir = await mkdtemp(path.join(os.tmpdir(), 'hie-start-'));
      const port = await freePort();
      const env = {
        HIE_DATA_DIR: dataDir,
        PORT: String(port),
        MLLP_PORT: String(await freePort()),
        HIE_LOG_LEVEL: 'info',
        HIE_DEMO_COUNTY: 'off',
      };
      child = run('bin/start.mjs', [], env);
      let stderr = '';
      child.stderr!.on('data', (c) => (stderr += c));
      const url = `http://localhost:${port}`;
      await waitReady(url, child, 90_000);
      expect(stderr).toContain(`County HIE is running at ${url}/fhir`);

      expect((await fetch(`${url}/fhir/metadata`)).status).toBe(200);
      expect((await fetch(`${url}/fhir/Patient`)).status).toBe(401);

      const token = await new Promise<string>((resolve, reject) => {
        const cli = run('bin/hie.mjs', ['token', 'admin'], env);
        let out = '';
        cli.stdout!.on('data', (c) => (out += c));
        cli.on('close', (code) =>
          code === 0 ? resolve(out.trim().split('\n').at(-1)!) : reject(new Error(`hie exited ${code}`)),
        );
      });
      expect(
        (await fetch(`${url}/fhir/Patient`, { headers: { authorization: `Bearer ${token}` } })).status,
      ).toBe(200);

      // An institution uploads a file the way clinic staff would: `hie upload` signs an assertion
      // with the institution's demo key, gets a token from /auth/token and posts to the gateway.
      const file = path.join(dataDir, 'adt.hl7');
      await writeFile(
        file,
        'MSH|^~\\&|HIS|CPH|HIE|COUNTY|20261101083000||ADT^A04|UP1|P|2.5.1\rEVN|A04|20261101082500\rPID|1||UP-MRN-1^^^CPH^MR||刘^备||19700101|M\r',
      );
      const upload = await cli(['upload', '--institution', 'county-peoples-hospital', file], env);
      expect(upload.code, upload.err).toBe(0);
      expect(upload.out).toContain('MSA|AA|UP1');
      const mrn = encodeURIComponent('https://county-hie.org/fhir/sid/mrn/county-peoples-hospital|UP-MRN-1');
      let found = 0;
      for (let i = 0; i < 50 && found === 0; i++) {
        const bundle: any = await (
          await fetch(`${url}/fhir/Patient?identifier=${mrn}`, {
            headers: { authorization: `Bearer ${token}` },
          })
        ).json();
        found = bundle.entry?.length ?? 0;
        if (found === 0) await new Promise((r) => setTimeout(r, 200));
      }
      expect(found).toBe(1);

      const info = await readRuntimeFile(dataDir);
      expect(info).toMatchObject({
        pid: child.pid,
        publicUrl: url,
        fhirUrl: `${url}/fhir`,
        port,
        demoIssuer: true,
      });
      expect((await stat(runtimeFilePath(dataDir))).mode & 0o777).toBe(0o600);
      const pgPid = info!.postgres!.pid!;
      const redisPid = info!.redis!.pid!;
      expect(alive(pgPid) && alive(redisPid)).toBe(true);

      // A second start on the same data folder refuses, and leaves the running system's servers alone.
      const second = await new Promise<{ code: number | null; err: string }>((resolve) => {
        const p = run('bin/start.mjs', [], { ...env, PORT: String(port + 1) });
        let err = '';
        p.stderr!.on('data', (c) => (err += c));
        p.on('close', (code) => resolve({ code, err }));
      });
      expect(second.code).toBe(1);
      expect(second.err).toContain(`already running from ${dataDir} (pid ${child.pid}`);
      expect(alive(pgPid) && alive(redisPid)).toBe(true);
      expect((await fetch(`${url}/readyz`)).status).toBe(200);

      const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
      const t0 = Date.now();
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(Date.now() - t0).toBeLessThan(20_000);
      expect(await exists(runtimeFilePath(dataDir))).toBe(false);
      expect(alive(pgPid)).toBe(false);
      expect(alive(redisPid)).toBe(false);
    },
  );
});
