import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROFILE_USAGE, profileCommand } from '../../src/cli/profile-command.ts';
import { CliError, UsageError } from '../../src/cli/cli-errors.ts';

const NID = 'urn:oid:2.16.156.10011.1.3';
/** The region's Patient profile asks for a name; the base-R4 cases below carry one. */
const NAME = [{ text: '王芳' }];
let dir = '';

async function run(args: string[]) {
  let out = '';
  let err = '';
  const code = await profileCommand(args, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

async function file(name: string, content: unknown): Promise<string> {
  const p = path.join(dir, name);
  await writeFile(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'hie-cli-profile-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true });
});

describe('hie profile validate', () => {
  it('a valid resource: exit 0, "valid" on stderr', async () => {
    const r = await run([
      'validate',
      await file('ok.json', { resourceType: 'Patient', gender: 'female', name: NAME }),
    ]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/ok\.json: valid/);
    expect(r.out).toContain('No issues found');
  });

  it('an invalid resource: exit 1, each issue with severity, expression and text', async () => {
    const p = await file('bad.json', {
      resourceType: 'Patient',
      gender: 'robot',
      birthDate: '1956-12-31',
      name: NAME,
    });
    const r = await run(['validate', p]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^error\s+Patient\.gender\s+"robot" is not in the required value set/m);
    expect(r.err).toMatch(/bad\.json: 1 error$/m);
  });

  it('warnings alone (a national ID with a wrong check digit) exit 0', async () => {
    const p = await file('warn.json', {
      resourceType: 'Patient',
      name: NAME,
      gender: 'female',
      identifier: [{ system: NID, value: '110105194912310021' }],
    });
    const r = await run(['validate', p, '--json']);
    expect(r.code).toBe(0);
    const body = JSON.parse(r.out);
    expect(body.valid).toBe(true);
    expect(body.issues).toEqual([
      expect.objectContaining({ severity: 'warning', expression: ['Patient.identifier[0].value'] }),
    ]);
  });

  it('a Bundle: every entry, at Bundle.entry[i].resource paths; --json prints only JSON', async () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        { resource: { resourceType: 'Patient', gender: 'female', name: NAME } },
        {
          resource: {
            resourceType: 'Observation',
            status: 'bogus',
            code: { text: 'x' },
            subject: { reference: 'Patient/p1' },
            effectiveDateTime: '2026-11-01',
            valueQuantity: { value: 1.5 },
          },
        },
      ],
    };
    const r = await run(['validate', await file('bundle.json', bundle), '--json']);
    expect(r.code).toBe(1);
    expect(r.err).toBe('');
    const body = JSON.parse(r.out);
    expect(body.valid).toBe(false);
    expect(body.issues.map((i: { expression?: string[] }) => i.expression)).toEqual([
      ['Bundle.entry[1].resource.status'],
    ]);
  });

  it('holds each resource to the region profile for its type, as /ingest does; --claimed-only does not', async () => {
    const p = await file('nameless.json', { resourceType: 'Patient', gender: 'female' });
    const region = await run(['validate', p, '--json']);
    expect(region.code).toBe(1);
    const issues = JSON.parse(region.out).issues as { severity: string; diagnostics?: string }[];
    expect(issues.filter((i) => i.severity === 'error').map((i) => i.diagnostics)).toEqual([
      expect.stringMatching(/name.*StructureDefinition\/hie-patient/),
    ]);
    const claimedOnly = await run(['validate', p, '--claimed-only']);
    expect(claimedOnly.code).toBe(0);
  });

  it('a file that is not JSON, or missing, is a one-line failure (exit 1 through main)', async () => {
    await expect(run(['validate', await file('x.json', '{ nope')])).rejects.toBeInstanceOf(CliError);
    await expect(run(['validate', path.join(dir, 'absent.json')])).rejects.toThrow(/cannot read/);
    await expect(run(['validate', await file('arr.json', [1])])).rejects.toThrow(/JSON object/);
  });

  it('wrong usage is a UsageError (exit 2 through main)', async () => {
    await expect(run([])).rejects.toBeInstanceOf(UsageError);
    await expect(run(['validate'])).rejects.toBeInstanceOf(UsageError);
    await expect(run(['check', 'a.json'])).rejects.toBeInstanceOf(UsageError);
    await expect(run(['validate', 'a.json', '--strict'])).rejects.toBeInstanceOf(UsageError);
    expect(PROFILE_USAGE).toMatch(/^hie profile validate <resource\.json> \[--json\]/);
  });
});
