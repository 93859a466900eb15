import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadOrCreateSigningKey } from '../../src/auth/signing-key.ts';
import { createTokenVerifier } from '../../src/auth/verify-token.ts';
import { CliError } from '../../src/cli/cli-errors.ts';
import { clinicianPractitioner, tokenCommand } from '../../src/cli/token-command.ts';
import {
  DEFAULT_PRACTITIONERS_FILE,
  practitionersOf,
  validatePractitioners,
  type DirectoryPractitioner,
} from '../../src/institutions/practitioners.ts';
import { addInstitutions } from '../../src/institutions/manage.ts';
import { DEFAULT_REGISTRY_FILE, seedInstitutions } from '../../src/institutions/seed.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';
import type { InstitutionEntry } from '../../src/institutions/types.ts';

const HIE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/hie.mjs');
const registry = JSON.parse(readFileSync(DEFAULT_REGISTRY_FILE, 'utf8')) as InstitutionEntry[];
const directory: DirectoryPractitioner[] = validatePractitioners(
  JSON.parse(readFileSync(DEFAULT_PRACTITIONERS_FILE, 'utf8')),
);

describe('hie token clinician and the practitioner directory', () => {
  let dataDir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'hie-cli-dir-'));
    env = { HIE_DATA_DIR: dataDir, PORT: '48124', HIE_DEMO_ISSUER: 'on', HIE_LOG_LEVEL: 'silent' };
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  /** Runs the command in-process; resolves to the printed claims. */
  const claimsOf = async (args: string[]): Promise<Record<string, unknown>> => {
    let out = '';
    const code = await tokenCommand(
      [...args, '--json'],
      { out: (t) => void (out += t), err: () => undefined },
      env,
    );
    expect(code).toBe(0);
    return (JSON.parse(out) as { claims: Record<string, unknown> }).claims;
  };

  it('for every registry institution, the token stands for a directory practitioner of it', async () => {
    const verifier = createTokenVerifier({
      publicUrl: 'http://localhost:48124',
      signingKey: await loadOrCreateSigningKey(dataDir),
      trustedIssuers: [],
    });
    for (const inst of registry) {
      const claims = await claimsOf(['clinician', '--institution', inst.id]);
      const here = practitionersOf(directory, inst.id).map((p) => `Practitioner/${p.id}`);
      expect(here, inst.id).toContain(claims.fhirUser);
      expect(claims.hie_institution).toBe(inst.id);
    }
    // The same command gives the same practitioner, and the token verifies.
    let out = '';
    await tokenCommand(
      ['clinician', '--institution', 'county-peoples-hospital'],
      { out: (t) => void (out += t), err: () => undefined },
      env,
    );
    const auth = await verifier.verify(out.trim());
    expect(auth.institution).toBe('county-peoples-hospital');
    expect((await claimsOf(['clinician', '--institution', 'county-peoples-hospital'])).fhirUser).toBe(
      (await claimsOf(['clinician', '--institution', 'county-peoples-hospital'])).fhirUser,
    );
  });

  it('defaults to a physician, not the first nurse or technician', () => {
    // A hand-made directory where the nurse comes first.
    const dir: DirectoryPractitioner[] = [
      {
        id: 'n1',
        institution: 'h',
        staffNo: '1',
        name: { zh: '甲', en: 'A' },
        gender: 'female',
        roles: ['nurse'],
      },
      {
        id: 'd1',
        institution: 'h',
        staffNo: '2',
        name: { zh: '乙', en: 'B' },
        gender: 'male',
        roles: ['doctor'],
      },
      {
        id: 'd2',
        institution: 'h',
        staffNo: '3',
        name: { zh: '丙', en: 'C' },
        gender: 'male',
        roles: ['doctor'],
      },
    ];
    expect(clinicianPractitioner(dir, 'h', undefined)).toBe('d1');
    expect(clinicianPractitioner(dir.slice(0, 1), 'h', undefined)).toBe('n1');
    expect(clinicianPractitioner(dir, 'h', 'd2')).toBe('d2');
  });

  it('--practitioner names a directory practitioner of that institution', async () => {
    const other = practitionersOf(directory, 'xikou-township-health-centre')[1]!;
    const claims = await claimsOf([
      'clinician',
      '--institution',
      'xikou-township-health-centre',
      '--practitioner',
      other.id,
    ]);
    expect(claims.fhirUser).toBe(`Practitioner/${other.id}`);
    // One of another institution is refused, naming where they work.
    const elsewhere = practitionersOf(directory, 'county-peoples-hospital')[0]!;
    expect(() => clinicianPractitioner(directory, 'xikou-township-health-centre', elsewhere.id)).toThrow(
      new CliError(
        `practitioner "${elsewhere.id}" works at county-peoples-hospital, not at xikou-township-health-centre`,
      ),
    );
  });

  describe('with an institution an operator registered after the seed', () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await createTestDatabase(inject('pgServers')[0]!);
      await seedInstitutions(database.db);
      await addInstitutions(database.db, {
        id: 'operator-added-clinic',
        name: { zh: '新增诊所', en: 'Operator-added Clinic' },
        tier: 'village-clinic',
        partOf: 'xikou-township-health-centre',
        facilityCodes: ['OAC'],
        formats: ['csv:village-visits'],
        timezone: '+08:00',
        charset: 'UTF-8',
      });
    });
    afterAll(async () => {
      await database?.drop();
    });

    it('the directory does not know it: the token keeps the synthetic practitioner', async () => {
      const saved = env;
      env = { ...env, DATABASE_URL: database.url };
      try {
        const claims = await claimsOf(['clinician', '--institution', 'operator-added-clinic']);
        expect(claims.fhirUser).toBe('Practitioner/demo-operator-added-clinic-doctor');
      } finally {
        env = saved;
      }
    });
  });

  it('an institution the registry does not hold gets no token: one line naming the known ids', async () => {
    const errors: string[] = [];
    await expect(
      tokenCommand(
        ['clinician', '--institution', 'county-peoples-hospitl'],
        {
          out: () => undefined,
          err: (t) => void errors.push(t),
        },
        env,
      ),
    ).rejects.toThrow(
      /no institution "county-peoples-hospitl" in registry\/institutions\.json .*known: .*county-peoples-hospital/,
    );
    for (const kind of [
      ['institution', 'nowhere-clinic'],
      ['privacy-officer', '--institution', 'nowhere-clinic'],
    ])
      await expect(
        tokenCommand(kind, { out: () => undefined, err: () => undefined }, env),
      ).rejects.toBeInstanceOf(CliError);
  });

  it('an unknown --practitioner fails with one clear line and exit 1', async () => {
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        [
          HIE,
          'token',
          'clinician',
          '--institution',
          'county-peoples-hospital',
          '--practitioner',
          'nobody-here',
        ],
        { cwd: os.tmpdir(), env: { ...process.env, ...env } },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c) => (stdout += c));
      child.stderr.on('data', (c) => (stderr += c));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/no practitioner "nobody-here" at county-peoples-hospital/);
    expect(result.stderr).toMatch(/cph-zhang-weiguo/);
  });
});
