import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeRuntimeFile } from '../../src/app/runtime-file.ts';
import { loadOrCreateSigningKey } from '../../src/auth/signing-key.ts';
import { createTokenVerifier } from '../../src/auth/verify-token.ts';

const HIE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/hie.mjs');
const PUBLIC_URL = 'http://localhost:48123';

/** Runs `node bin/hie.mjs …` from a folder outside the project, as a user would from anywhere. */
function hie(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [HIE, ...args], {
      cwd: os.tmpdir(),
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('hie token', () => {
  let dataDir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'hie-cli-'));
    // A running system as the launcher records it: its public URL, not the environment's, must be in the token.
    await writeRuntimeFile(dataDir, {
      pid: process.pid,
      startedAt: new Date().toISOString(),
      publicUrl: PUBLIC_URL,
      fhirUrl: `${PUBLIC_URL}/fhir`,
      port: 48123,
      mllpPort: 2575,
      databaseUrl: 'postgres://x@127.0.0.1:1/hie',
      redisUrl: 'redis://127.0.0.1:1',
      demoIssuer: true,
      postgres: null,
      redis: null,
    });
    env = { HIE_DATA_DIR: dataDir, PORT: '9999', HIE_LOG_LEVEL: 'silent' };
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  const verifier = async () =>
    createTokenVerifier({
      publicUrl: PUBLIC_URL,
      signingKey: await loadOrCreateSigningKey(dataDir),
      trustedIssuers: [],
    });

  it('prints an admin token, as the last stdout line, that the running system accepts', async () => {
    const { code, stdout } = await hie(['token', 'admin'], env);
    expect(code).toBe(0);
    const token = stdout.trim().split('\n').at(-1)!;
    const auth = await (await verifier()).verify(token);
    expect(auth.issuer).toBe(PUBLIC_URL);
    expect([...auth.roles]).toEqual(['admin']);
  });

  it('--json prints only JSON: token, expiry and claims, honouring --ttl', async () => {
    const before = Math.floor(Date.now() / 1000);
    const { code, stdout } = await hie(
      ['token', 'clinician', '--institution', 'xikou-township-health-centre', '--ttl', '600', '--json'],
      env,
    );
    expect(code).toBe(0);
    const out = JSON.parse(stdout);
    expect(out.claims).toMatchObject({
      hie_institution: 'xikou-township-health-centre',
      fhirUser: expect.stringMatching(/^Practitioner\//),
      aud: `${PUBLIC_URL}/fhir`,
    });
    expect(out.claims.exp - out.claims.iat).toBe(600);
    expect(out.claims.iat).toBeGreaterThanOrEqual(before);
    expect(out.expiresAt).toBe(new Date(out.claims.exp * 1000).toISOString());
    const auth = await (await verifier()).verify(out.token);
    expect(auth.institution).toBe('xikou-township-health-centre');
  });

  it('makes person, privacy-officer and institution tokens', async () => {
    const person = JSON.parse((await hie(['token', 'person', '--patient', 'p-1', '--json'], env)).stdout);
    expect(person.claims.patient).toBe('p-1');
    const officer = JSON.parse(
      (await hie(['token', 'privacy-officer', '--institution', 'county-peoples-hospital', '--json'], env))
        .stdout,
    );
    expect(officer.claims.hie_roles).toEqual(['privacy-officer']);
    const inst = JSON.parse(
      (await hie(['token', 'institution', 'huangtan-village-clinic', '--json'], env)).stdout,
    );
    expect(inst.claims.sub).toBe('huangtan-village-clinic');
  });

  it('refuses when the demo issuer is off, saying why', async () => {
    const off = await mkdtemp(path.join(os.tmpdir(), 'hie-cli-off-'));
    try {
      const { code, stdout, stderr } = await hie(['token', 'admin'], {
        HIE_DATA_DIR: off,
        HIE_DEMO_ISSUER: 'off',
      });
      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(stderr).toMatch(/HIE_DEMO_ISSUER/);
    } finally {
      await rm(off, { recursive: true, force: true });
    }
  });

  it('rejects a malformed institution id with one line and exit 1', async () => {
    const { code, stderr } = await hie(['token', 'institution', 'Bad_Id'], env);
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/\^\[a-z0-9-\]\{2,40\}\$/);
  });

  it('prints the usage on stderr with exit 2 for an unknown verb or option', async () => {
    const verb = await hie(['frobnicate'], env);
    expect(verb.code).toBe(2);
    expect(verb.stderr).toMatch(/usage: hie/);
    const option = await hie(['token', 'admin', '--institution', 'x1'], env);
    expect(option.code).toBe(2);
    const help = await hie(['--help'], env);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/hie token clinician --institution/);
  });
});
