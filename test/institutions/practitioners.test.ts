import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TOWNSHIPS } from '../../src/demo/county.ts';
import {
  directoryPractitioner,
  directoryPractitionerRoles,
} from '../../src/institutions/practitioner-resources.ts';
import {
  DEFAULT_PRACTITIONERS_FILE,
  defaultClinician,
  loadPractitioners,
  PractitionerDirectoryError,
  practitionersOf,
  validatePractitioners,
  type DirectoryPractitioner,
} from '../../src/institutions/practitioners.ts';
import { DEFAULT_REGISTRY_FILE } from '../../src/institutions/seed.ts';
import type { InstitutionEntry } from '../../src/institutions/types.ts';
import { validateEntries } from '../../src/institutions/validate-entry.ts';

const BASE = 'https://county-hie.org/fhir';

const good = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  id: 'th-li-ming',
  institution: 'test-hospital',
  staffNo: 'D001',
  name: { zh: '李明', en: 'Li Ming' },
  gender: 'male',
  roles: ['doctor'],
  specialty: '内科',
  ...over,
});

/** The problems a directory is refused with (fails the test if it is accepted). */
function problems(values: unknown, institutions?: Set<string>): string[] {
  try {
    validatePractitioners(values, institutions);
  } catch (err) {
    if (err instanceof PractitionerDirectoryError) return err.problems;
    throw err;
  }
  throw new Error('accepted');
}

describe('practitioner directory validation', () => {
  it('accepts a well-formed entry and returns it in the fixed shape', () => {
    expect(validatePractitioners([good({ team: 'T01' })])).toEqual([
      {
        id: 'th-li-ming',
        institution: 'test-hospital',
        staffNo: 'D001',
        name: { zh: '李明', en: 'Li Ming' },
        gender: 'male',
        roles: ['doctor'],
        specialty: '内科',
        team: 'T01',
      },
    ]);
  });

  it('names the entry and the field of every fault', () => {
    expect(
      problems([
        good(),
        good({
          id: 'Bad_Id',
          gender: 'm',
          roles: ['surgeon'],
          name: { zh: '' },
          staffNo: 'D 2',
          extra: 1,
        }),
      ]),
    ).toEqual([
      '[1] Bad_Id.extra: is not a field of a practitioner',
      '[1] Bad_Id.id: must match ^[a-z0-9-]{2,64}$, got "Bad_Id"',
      '[1] Bad_Id.staffNo: must match ^[A-Za-z0-9][A-Za-z0-9-]{0,31}$, got "D 2"',
      '[1] Bad_Id.name.zh: must be a non-empty string',
      '[1] Bad_Id.name.en: must be a non-empty string',
      '[1] Bad_Id.gender: must be male or female, got "m"',
      expect.stringMatching(
        /^\[1\] Bad_Id\.roles\[0\]: must be one of doctor, family-doctor, .*got "surgeon"$/,
      ),
    ]);
    expect(problems([good({ roles: [] })])).toEqual([
      '[0] th-li-ming.roles: must be a non-empty array of role codes',
    ]);
    expect(problems({ id: 'x' })).toEqual(['expected a JSON array']);
    expect(problems([42])).toEqual(['[0]: expected an object']);
  });

  it('refuses a repeated id, a repeated staff number within one institution, and an unknown institution', () => {
    expect(problems([good(), good({ staffNo: 'D002' })])).toEqual([
      '[1] th-li-ming.id: "th-li-ming" is already used by entry [0]',
    ]);
    expect(problems([good(), good({ id: 'th-wang-fang' })])).toEqual([
      '[1] th-wang-fang.staffNo: "D001" is already used at test-hospital by entry [0]',
    ]);
    // The same staff number at another institution is another person.
    expect(validatePractitioners([good(), good({ id: 'x-li', institution: 'other' })])).toHaveLength(2);
    expect(problems([good()], new Set(['other']))).toEqual([
      '[0] th-li-ming.institution: no institution "test-hospital" in the registry',
    ]);
  });

  it('refuses a role whose PractitionerRole id would exceed 64 characters', () => {
    const id = 'a'.repeat(60);
    expect(problems([good({ id, roles: ['doctor'] })])).toEqual([
      `[0] ${id}.roles[0]: the PractitionerRole id "${id}-doctor" is longer than 64 characters`,
    ]);
  });

  it('a file that is not JSON is reported with its path', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hie-practitioners-'));
    try {
      const file = path.join(dir, 'p.json');
      await writeFile(file, '[{"id": ');
      await expect(loadPractitioners(file)).rejects.toThrow(file);
      await writeFile(file, JSON.stringify([good({ gender: 'x' })]));
      await expect(loadPractitioners(file)).rejects.toThrow(`${file}[0] th-li-ming.gender`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the shipped county directory', () => {
  const registry: InstitutionEntry[] = validateEntries(
    JSON.parse(readFileSync(DEFAULT_REGISTRY_FILE, 'utf8')),
  );
  const ids = new Set(registry.map((i) => i.id));
  const directory: DirectoryPractitioner[] = validatePractitioners(
    JSON.parse(readFileSync(DEFAULT_PRACTITIONERS_FILE, 'utf8')),
    ids,
  );

  it('is valid, and every practitioner works at a registered institution', async () => {
    expect(directory.length).toBeGreaterThan(0);
    await expect(loadPractitioners(undefined, ids)).resolves.toEqual(directory);
  });

  it('gives every registered institution at least two practitioners and a physician to sign in as', () => {
    for (const inst of registry) {
      expect(practitionersOf(directory, inst.id).length, inst.id).toBeGreaterThanOrEqual(2);
      expect(defaultClinician(directory, inst.id)?.institution, inst.id).toBe(inst.id);
    }
  });

  it('township centres have family doctors in teams; village doctors belong to their township centre team', () => {
    const byId = new Map(registry.map((i) => [i.id, i]));
    for (const inst of registry.filter((i) => i.tier === 'township-health-centre')) {
      const doctors = practitionersOf(directory, inst.id).filter((p) => p.roles.includes('family-doctor'));
      expect(doctors.length, inst.id).toBeGreaterThanOrEqual(2);
      for (const d of doctors) expect(d.team, d.id).toBeDefined();
    }
    for (const inst of registry.filter((i) => i.tier === 'village-clinic')) {
      const here = practitionersOf(directory, inst.id);
      expect(
        here.every((p) => p.roles.includes('village-doctor')),
        inst.id,
      ).toBe(true);
      const member = here.find((p) => p.roles.includes('family-doctor'));
      expect(member, inst.id).toBeDefined();
      // Its team number is one the township centre (its partOf) has.
      const township = byId.get(inst.partOf!)!;
      expect(township.tier).toBe('township-health-centre');
      const teams = practitionersOf(directory, township.id).map((p) => p.team);
      expect(teams, inst.id).toContain(member!.team);
    }
  });

  it("the registry holds the county's health centres and village clinics, each under its parent", () => {
    const byId = new Map(registry.map((i) => [i.id, i]));
    for (const t of TOWNSHIPS) {
      const centre = byId.get(t.healthCentre);
      expect(centre, t.healthCentre).toBeDefined();
      for (const v of t.villages.filter((v) => v.clinic !== undefined)) {
        expect(byId.get(v.clinic!)?.partOf, v.clinic).toBe(t.healthCentre);
        expect(byId.get(v.clinic!)?.formats).toEqual(['csv:village-visits', 'csv:village-referrals']);
      }
    }
  });

  it('the contract sample names doctors of the directory by their staff numbers', () => {
    // mappings/samples/family-doctor-contracts.csv is a Qiaotou export: its 工号 meet the directory.
    const sample = readFileSync(
      new URL('../../mappings/samples/family-doctor-contracts.csv', import.meta.url),
      'utf8',
    );
    const rows = sample
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(','));
    const qiaotou = practitionersOf(directory, 'qiaotou-township-health-centre');
    for (const cells of rows) {
      const doctor = qiaotou.find((p) => p.staffNo === cells[7]);
      expect(doctor?.name.zh, cells[7]).toBe(cells[8]);
    }
  });
});

describe('projection of a directory practitioner', () => {
  const p: DirectoryPractitioner = {
    id: 'qt-wang-jianguo',
    institution: 'qiaotou-township-health-centre',
    staffNo: 'D017',
    name: { zh: '王建国', en: 'Wang Jianguo' },
    gender: 'male',
    roles: ['family-doctor', 'doctor'],
    specialty: '全科医学科',
    team: 'T01',
  };

  it('is a Practitioner identified as the contract mapping references it', () => {
    expect(directoryPractitioner(p, BASE)).toEqual({
      resourceType: 'Practitioner',
      id: 'qt-wang-jianguo',
      identifier: [
        {
          use: 'usual',
          system: `${BASE}/sid/source-id/qiaotou-township-health-centre`,
          value: 'doctor-D017',
        },
      ],
      active: true,
      name: [{ use: 'official', text: '王建国' }, { text: 'Wang Jianguo' }],
      gender: 'male',
    });
  });

  it('has one PractitionerRole per role at its Organization', () => {
    const roles = directoryPractitionerRoles(p, BASE);
    expect(roles.map((r) => r.id)).toEqual(['qt-wang-jianguo-family-doctor', 'qt-wang-jianguo-doctor']);
    expect(roles[0]).toEqual({
      resourceType: 'PractitionerRole',
      id: 'qt-wang-jianguo-family-doctor',
      active: true,
      practitioner: { reference: 'Practitioner/qt-wang-jianguo', display: '王建国' },
      organization: { reference: 'Organization/qiaotou-township-health-centre' },
      code: [
        {
          coding: [
            { system: `${BASE}/CodeSystem/practitioner-role`, code: 'family-doctor', display: '家庭医生' },
          ],
          text: '家庭医生',
        },
      ],
      specialty: [{ text: '全科医学科' }],
    });
    const { specialty: _specialty, ...withoutSpecialty } = p;
    expect(directoryPractitionerRoles(withoutSpecialty, BASE)[1]).not.toHaveProperty('specialty');
  });
});
