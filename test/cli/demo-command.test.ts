import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { writeRuntimeFile } from '../../src/app/runtime-file.ts';
import { demoCommand } from '../../src/cli/demo-command.ts';
import { readManifest } from '../../src/demo/send/manifest.ts';
import { main } from '../../src/cli/main.ts';
import { ensureDemoKeys } from '../../src/institutions/institution-keys.ts';
import { startMllpListener, type MllpListener } from '../../src/ingest/mllp/index.ts';
import { silentLogger } from '../../src/kernel/logger.ts';
import { freePort } from '../support/free-port.ts';
import { startTestGateway, type TestGateway } from '../support/test-gateway.ts';
import { writeSmallCounty } from '../demo/send/small-county.ts';

function capture() {
  const io = { out: '', err: '' };
  return {
    io,
    cli: { out: (t: string) => void (io.out += t), err: (t: string) => void (io.err += t) },
  };
}

describe('hie demo: usage', () => {
  it('lists the verb in the usage and refuses a wrong command line with exit 2', async () => {
    const help = capture();
    expect(await main(['--help'], help.cli)).toBe(0);
    expect(help.io.out).toContain('hie demo send <dir>');
    for (const argv of [
      ['demo'],
      ['demo', 'frobnicate'],
      ['demo', 'send'],
      ['demo', 'send', 'a', 'b'],
      ['demo', 'send', 'dir', '--residents', '3'],
      ['demo', 'generate'],
      ['demo', 'generate', '--out', 'x', '--wait'],
    ]) {
      const c = capture();
      expect(await main(argv, c.cli), argv.join(' ')).toBe(2);
      expect(c.io.err).toContain('usage:');
    }
  });

  it('refuses bad values and a directory without a manifest with exit 1', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hie-demo-cli-'));
    try {
      const bad = capture();
      expect(await main(['demo', 'generate', '--out', dir, '--as-of', '2026-13-45'], bad.cli)).toBe(1);
      expect(bad.io.err).toContain('--as-of');
      const none = capture();
      expect(await main(['demo', 'send', dir], none.cli)).toBe(1);
      expect(none.io.err).toContain('manifest.json');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('hie demo generate', () => {
  it(
    'writes a directory hie demo send can read, the same bytes for the same seed and date',
    { timeout: 120_000 },
    async () => {
      const work = await mkdtemp(path.join(os.tmpdir(), 'hie-demo-gen-cli-'));
      try {
        const run = async (out: string) => {
          const c = capture();
          const args = [
            'demo',
            'generate',
            '--residents',
            '10',
            '--seed',
            's1',
            '--as-of',
            '2026-06-30',
            '--out',
            out,
            '--json',
          ];
          expect(await main(args, c.cli), c.io.err).toBe(0);
          return JSON.parse(c.io.out);
        };
        const a = await run(path.join(work, 'a'));
        const b = await run(path.join(work, 'b'));
        expect(a).toMatchObject({ residents: 10, seed: 's1', asOf: '2026-06-30' });
        expect(a.messages).toBeGreaterThan(0);
        const manifest = await readManifest(path.join(work, 'a'));
        expect(manifest.totals.messages).toBe(a.messages);
        expect(await readFile(path.join(work, 'b', 'manifest.json'), 'utf8')).toBe(
          await readFile(path.join(work, 'a', 'manifest.json'), 'utf8'),
        );
        expect(b.messages).toBe(a.messages);
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    },
  );
});

describe.each(inject('pgServers').filter((s) => s.name === 'pg18-embedded'))(
  'hie demo send, finding the running system through runtime.json ($name)',
  (server) => {
    let gw: TestGateway;
    let mllp: MllpListener;
    let work: string;
    let env: Record<string, string>;

    beforeAll(async () => {
      gw = await startTestGateway(server, inject('redisUrl'));
      await ensureDemoKeys(gw.database.db, gw.config.dataDir);
      gw.registry.invalidate();
      mllp = await startMllpListener({
        port: await freePort(),
        host: '127.0.0.1',
        maxMessageBytes: 1 << 20,
        idleTimeoutMs: 60_000,
        logger: silentLogger(),
        handle: gw.acceptMllp,
      });
      // What `npm start` records, with this process as the (live) launcher.
      await writeRuntimeFile(gw.config.dataDir, {
        pid: process.pid,
        startedAt: new Date().toISOString(),
        publicUrl: gw.publicUrl,
        fhirUrl: gw.fhirUrl,
        port: gw.config.port,
        mllpPort: mllp.port,
        databaseUrl: gw.database.url,
        redisUrl: inject('redisUrl'),
        demoIssuer: true,
        postgres: null,
        redis: null,
      });
      // A different PORT and MLLP_PORT in the environment: runtime.json must win.
      env = { HIE_DATA_DIR: gw.config.dataDir, PORT: '1', MLLP_PORT: '1' };
      work = await mkdtemp(path.join(os.tmpdir(), 'hie-demo-cli-'));
    });
    afterAll(async () => {
      await mllp?.close();
      await gw?.close();
      if (work) await rm(work, { recursive: true, force: true });
    });

    it('sends a directory, waits for the final states, and prints only JSON with --json', async () => {
      const dir = path.join(work, 'ok');
      const county = await writeSmallCounty(dir, 'C');
      const c = capture();
      const code = await demoCommand(['send', dir, '--json', '--wait', '--concurrency', '2'], c.cli, env);
      expect(code, c.io.err).toBe(0);
      const summary = JSON.parse(c.io.out);
      expect(summary).toMatchObject({
        total: county.manifest.totals.messages,
        sent: county.manifest.totals.messages,
        expectedFailures: 3,
        mismatches: [],
        archive: { queued: 0, failed: 3, stored: county.good },
      });
      expect(summary.rate).toBeGreaterThan(0);
      expect(Object.keys(summary.tokens)).toHaveLength(4);
      // Progress went to stderr (periodic lines, not a terminal), with the rate.
      expect(c.io.err).toMatch(/msg\/s/);
    });

    it('exits 1 and names the message when an answer contradicts the manifest', async () => {
      const dir = path.join(work, 'mismatch');
      await writeSmallCounty(dir, 'D');
      const manifestFile = path.join(dir, 'manifest.json');
      const manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
      manifest.expectedFailures = manifest.expectedFailures.filter(
        (e: { expect: string }) => e.expect !== 'AE',
      );
      await writeFile(manifestFile, JSON.stringify(manifest));
      const c = capture();
      expect(await demoCommand(['send', dir], c.cli, env)).toBe(1);
      expect(c.io.out).toMatch(
        /MISMATCH messages\/1-registrations\/cph-lis\.hl7#1 \(county-peoples-hospital, DLIS2\): expected accepted, got AE/,
      );
    });
  },
);
