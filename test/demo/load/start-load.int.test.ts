import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../src/app/embedded/processes.ts';
import { adminClaims, issueToken } from '../../../src/auth/issue-token.ts';
import { loadOrCreateSigningKey } from '../../../src/auth/signing-key.ts';
import { countyDir, readDemoState, writeDemoState } from '../../../src/demo/load/state.ts';
import { REPO_ROOT } from '../../app/spawn-helpers.ts';
import { writeSmallCounty, type SmallCounty } from '../send/small-county.ts';

interface Started {
  child: ChildProcess;
  log: () => string;
  /** Every /readyz answer seen while waiting (status and body). */
  readiness: { status: number; body: any }[];
}

/** `npm start` on the data folder; resolves once /readyz is 200, keeping the answers before. */
async function start(env: Record<string, string>, url: string): Promise<Started> {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/start.mjs')], {
    cwd: os.tmpdir(),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (c) => (stderr += c));
  const readiness: Started['readiness'] = [];
  const deadline = Date.now() + 150_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`npm start exited with ${child.exitCode}:\n${stderr.slice(-3000)}`);
    const res = await fetch(`${url}/readyz`).catch(() => undefined);
    if (res) {
      readiness.push({ status: res.status, body: await res.json() });
      if (res.status === 200) break;
    }
    if (Date.now() > deadline) throw new Error(`not ready:\n${stderr.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, log: () => stderr, readiness };
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

/** The whole archive, as an administrator sees it. */
async function archive(
  url: string,
  token: string,
): Promise<{ controlId: string; state: string; institution: string }[]> {
  const items: any[] = [];
  let next: string | undefined = '/ingest/messages?_count=500';
  while (next) {
    const page: any = await (
      await fetch(`${url}${next}`, { headers: { authorization: `Bearer ${token}` } })
    ).json();
    items.push(...page.items);
    next = page.next;
  }
  return items;
}

describe('the demo county load at npm start', () => {
  let dataDir: string;
  let running: ChildProcess | undefined;
  afterAll(async () => {
    if (running) await stop(running);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it(
    'holds readiness at 503 with progress until every message is final, loads once, and resumes an interrupted load',
    { timeout: 420_000 },
    async () => {
      dataDir = await mkdtemp(path.join(os.tmpdir(), 'hie-demo-load-'));
      // A county generated earlier into this data folder (as the first start would), not yet sent.
      const county: SmallCounty = await writeSmallCounty(countyDir(dataDir), 'L');
      await writeDemoState(dataDir, {
        format: 'county-hie-demo-load/1',
        seed: 'county-hie',
        residents: 3,
        asOf: '2026-12-01',
        generated: true,
        doneFiles: [],
        complete: false,
      });
      const port = await freePort();
      const url = `http://localhost:${port}`;
      const env = {
        HIE_DATA_DIR: dataDir,
        PORT: String(port),
        MLLP_PORT: String(await freePort()),
        HIE_LOG_LEVEL: 'info',
        HIE_DEMO_COUNTY: 'auto',
      };
      const total = county.manifest.totals.messages;

      const first = await start(env, url);
      running = first.child;
      const loading = first.readiness.filter((r) => r.status === 503);
      expect(loading.length).toBeGreaterThan(0);
      expect(loading.at(-1)!.body).toMatchObject({ status: 'loading-demo', demo: { expectedFailures: 3 } });
      expect(loading.some((r) => r.body.demo.total === total)).toBe(true);
      const ready = first.readiness.at(-1)!.body;
      expect(ready.status).toBe('ready');
      expect(first.log()).toContain('the demo county is loaded');
      expect(first.log()).toContain(`${url}/admin/queues`);
      expect(first.log()).toContain('npx hie token clinician --institution county-peoples-hospital');

      const admin = await issueToken(await loadOrCreateSigningKey(dataDir), adminClaims(url), 3600);
      const check = async () => {
        const items = await archive(url, admin);
        // Every message final; the deliberately bad ones failed; each HL7 message stored once.
        expect(items.filter((m) => m.state === 'queued')).toEqual([]);
        expect(items.filter((m) => m.state === 'stored')).toHaveLength(county.good);
        expect(items.filter((m) => m.state === 'failed')).toHaveLength(3);
        for (const id of county.hl7ControlIds)
          expect(
            items.filter((m) => m.controlId === id),
            id,
          ).toHaveLength(1);
        return items.length;
      };
      const archived = await check();
      const state = await readDemoState(dataDir);
      expect(state).toMatchObject({ complete: true, asOf: '2026-12-01' });
      expect(state!.doneFiles).toHaveLength(5);
      expect(await stop(first.child)).toBe(0);

      // A second start: nothing is sent again, readiness is 200 at once.
      const second = await start(env, url);
      running = second.child;
      expect(second.log()).toContain('demo county already loaded');
      expect(second.log()).not.toContain('sending the demo county');
      expect(await check()).toBe(archived);
      expect(await stop(second.child)).toBe(0);

      // An interrupted load: the first phase recorded as sent, the rest not yet. The next start
      // sends the rest (re-sent messages are answered without a second write).
      const phase1 = county.manifest.phases[0]!.files.map((f) => f.path);
      await writeDemoState(dataDir, { ...state!, complete: false, doneFiles: phase1 });
      const third = await start(env, url);
      running = third.child;
      expect(third.log()).toContain('resuming the demo county load');
      expect(await check()).toBe(archived);
      expect(await readDemoState(dataDir)).toMatchObject({ complete: true });
      expect(await stop(third.child)).toBe(0);
      running = undefined;
    },
  );

  it(
    'generates the county on the first start of an empty data folder, dated today in +08:00, and loads it',
    { timeout: 300_000 },
    async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'hie-demo-gen-'));
      const port = await freePort();
      const url = `http://localhost:${port}`;
      try {
        const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
        const started = await start(
          {
            HIE_DATA_DIR: dir,
            PORT: String(port),
            MLLP_PORT: String(await freePort()),
            HIE_LOG_LEVEL: 'info',
            HIE_DEMO_RESIDENTS: '20',
          },
          url,
        );
        running = started.child;
        const state = await readDemoState(dir);
        expect(state).toMatchObject({ generated: true, complete: true, residents: 20, seed: 'county-hie' });
        // Midnight may pass during the test: the date is today's or yesterday's, never another.
        expect([today, new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10)]).toContain(
          state!.asOf,
        );
        const manifest = JSON.parse(await readFile(path.join(countyDir(dir), 'manifest.json'), 'utf8'));
        expect(manifest).toMatchObject({ residents: 20, asOf: state!.asOf });
        const admin = await issueToken(await loadOrCreateSigningKey(dir), adminClaims(url), 3600);
        const items = await archive(url, admin);
        expect(items.filter((m) => m.state === 'queued')).toEqual([]);
        // Every generated message went through; only the deliberately bad ones failed.
        expect(items.filter((m) => m.state === 'failed')).toHaveLength(manifest.expectedFailures.length);
        expect(started.log()).not.toContain('some answers differ from what the manifest expects');
        expect(await stop(started.child)).toBe(0);
        running = undefined;
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});
