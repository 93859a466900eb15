import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { OperationOutcomeError, validateResource as medplumValidate } from '@medplum/core';
import type { OperationOutcomeIssue } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { loadFhirModel } from '../../src/repository/fhir-model.ts';
import {
  ProfileLoadError,
  createProfileRegistry,
  loadProfileRegistry,
  validateResource,
} from '../../src/validate/index.ts';
import { profileIssues } from '../../src/validate/profile-check.ts';
import { TEST_PROFILE_URL, birthDateRequiredProfile } from './test-profile.ts';

const model = loadFhirModel();
const NID = 'urn:oid:2.16.156.10011.1.3';
/** Valid: check character X, born 1949-12-31, digit 17 = 2 (female). */
const GOOD_ID = '11010519491231002X';
const WRONG_CHECK = '110105194912310021';
const profile = birthDateRequiredProfile();
const registry = createProfileRegistry([{ sd: profile }]);

const patient = (extra: Record<string, unknown> = {}) => ({
  resourceType: 'Patient',
  identifier: [
    { system: 'https://county-hie.org/fhir/sid/mrn/county-peoples-hospital', value: 'MRN1' },
    { system: NID, value: GOOD_ID },
  ],
  name: [{ text: '王秀英' }],
  gender: 'female',
  ...extra,
});

const bySeverity = (issues: OperationOutcomeIssue[], s: string) => issues.filter((i) => i.severity === s);

describe('validateResource', () => {
  it('a good Patient: no error, no warning, one "no issues" information', () => {
    const { issue } = validateResource(model, patient({ birthDate: '1949-12-31' }), { registry });
    expect(issue).toEqual([
      { severity: 'information', code: 'informational', diagnostics: 'No issues found' },
    ]);
  });

  it('a bad Patient: errors with expressions', () => {
    const { issue } = validateResource(model, patient({ gender: 'robot', birthDate: '1949-13-01' }), {
      registry,
    });
    const errors = bySeverity(issue, 'error');
    expect(errors.map((i) => i.expression)).toEqual([['Patient.gender'], ['Patient.birthDate']]);
  });

  it('a national ID with a wrong check digit is a warning at its value, masked, never an error', () => {
    const { issue } = validateResource(
      model,
      patient({ identifier: [{ system: NID, value: WRONG_CHECK }] }),
      {
        registry,
      },
    );
    expect(bySeverity(issue, 'error')).toEqual([]);
    expect(issue).toEqual([
      expect.objectContaining({ severity: 'warning', expression: ['Patient.identifier[0].value'] }),
    ]);
    expect(issue[0]!.diagnostics).toContain('check digit');
    expect(issue[0]!.diagnostics).not.toContain(WRONG_CHECK);
  });

  it("a national ID whose sex digit disagrees with the Patient's gender is a warning too", () => {
    const { issue } = validateResource(model, patient({ gender: 'male' }), { registry });
    expect(issue).toEqual([
      expect.objectContaining({ severity: 'warning', expression: ['Patient.identifier[1].value'] }),
    ]);
    expect(issue[0]!.diagnostics).toContain('gender');
  });

  it('finds national IDs outside Patient.identifier (a Reference on an Observation)', () => {
    const obs = {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'BP' },
      subject: { identifier: { system: NID, value: '11010519491231002' } },
    };
    const { issue } = validateResource(model, obs, { registry });
    expect(issue).toEqual([
      expect.objectContaining({ severity: 'warning', expression: ['Observation.subject.identifier.value'] }),
    ]);
  });

  it('an unknown meta.profile is an information issue at its place; an unknown extra profile too', () => {
    const unknown = 'https://example.org/StructureDefinition/nobody-knows';
    const { issue } = validateResource(model, patient({ meta: { profile: [unknown] } }), {
      registry,
      profileUrls: ['https://example.org/other'],
    });
    expect(issue).toEqual([
      expect.objectContaining({ severity: 'information', expression: ['Patient.meta.profile[0]'] }),
      expect.objectContaining({
        severity: 'information',
        diagnostics: expect.stringContaining('example.org/other'),
      }),
    ]);
    expect(issue[0]!.diagnostics).toContain('not known to this server');
    expect(issue[1]!.expression).toBeUndefined();
  });

  it('a known profile is checked: claimed in meta.profile or asked for', () => {
    const claimed = validateResource(model, patient({ meta: { profile: [TEST_PROFILE_URL] } }), { registry });
    expect(bySeverity(claimed.issue, 'error')).toEqual([
      expect.objectContaining({
        expression: ['Patient.birthDate'],
        diagnostics: expect.stringContaining(TEST_PROFILE_URL),
      }),
    ]);
    const asked = validateResource(model, patient(), { registry, profileUrls: [TEST_PROFILE_URL] });
    expect(bySeverity(asked.issue, 'error').map((i) => i.expression)).toEqual([['Patient.birthDate']]);
    const ok = validateResource(model, patient({ birthDate: '1949-12-31' }), {
      registry,
      profileUrls: [TEST_PROFILE_URL],
    });
    expect(bySeverity(ok.issue, 'error')).toEqual([]);
  });

  it('reports a place once when base R4 and the profile both fault it', () => {
    const { issue } = validateResource(model, patient({ birthDate: 'yesterday' }), {
      registry,
      profileUrls: [TEST_PROFILE_URL],
    });
    expect(bySeverity(issue, 'error').map((i) => i.expression)).toEqual([['Patient.birthDate']]);
  });

  it('a profile of another type is an error', () => {
    const obs = { resourceType: 'Observation', status: 'final', code: { text: 'x' } };
    const { issue } = validateResource(model, obs, { registry, profileUrls: [TEST_PROFILE_URL] });
    expect(bySeverity(issue, 'error')).toEqual([
      expect.objectContaining({
        diagnostics: expect.stringContaining('constrains Patient, not Observation'),
      }),
    ]);
  });

  it("checks a Bundle's entries: their own profiles and national IDs, at entry paths", () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        { resource: patient({ meta: { profile: [TEST_PROFILE_URL] } }) },
        { resource: patient({ identifier: [{ system: NID, value: WRONG_CHECK }], birthDate: '1949-12-31' }) },
      ],
    };
    const { issue } = validateResource(model, bundle, { registry });
    expect(issue.map((i) => [i.severity, i.expression])).toEqual([
      ['error', ['Bundle.entry[0].resource.birthDate']],
      ['warning', ['Bundle.entry[1].resource.identifier[0].value']],
    ]);
  });

  it('an unknown resourceType is one error', () => {
    const { issue } = validateResource(model, { resourceType: 'Patients' }, { registry });
    expect(issue).toEqual([
      expect.objectContaining({ severity: 'error', expression: ['Patients.resourceType'] }),
    ]);
  });
});

describe('profile check', () => {
  // The direct check reports what the profile adds to base R4 (the structural walker reports the
  // rest): it must find exactly what Medplum's public call finds beyond base R4.
  it('reports what @medplum/core validateResource(resource, { profile }) adds to base R4', () => {
    const medplum = (s: Record<string, unknown>, opts?: { profile: never }) => {
      try {
        return medplumValidate(s as never, opts) as OperationOutcomeIssue[];
      } catch (err) {
        if (!(err instanceof OperationOutcomeError)) throw err;
        return err.outcome.issue as OperationOutcomeIssue[];
      }
    };
    const key = (i: OperationOutcomeIssue) => JSON.stringify([i.severity, i.expression]);
    const samples = [
      patient(),
      patient({ birthDate: '1949-12-31' }),
      patient({ birthDate: '1949-12-31', identifier: [{ system: 5 }], foo: 'bar' }),
      patient({ identifier: [{ system: 5 }], foo: 'bar' }),
    ];
    for (const s of samples) {
      const base = new Set(medplum(s).map(key));
      const expected = medplum(s, { profile: profile as never }).filter((i) => !base.has(key(i)));
      const ours = profileIssues(s, profile, 'Patient');
      expect(ours.map(key)).toEqual(expected.map(key));
    }
  });

  it('roots expressions at the given prefix', () => {
    const issues = profileIssues(patient(), profile, 'Bundle.entry[4].resource');
    expect(issues.map((i) => i.expression)).toEqual([['Bundle.entry[4].resource.birthDate']]);
  });
});

describe('profile registry', () => {
  it('loads snapshot profiles from a folder, skips other resources, refuses a differential-only one by file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hie-profiles-'));
    try {
      await mkdir(path.join(dir, 'patient'));
      await writeFile(path.join(dir, 'patient', 'p.json'), JSON.stringify(profile));
      await writeFile(path.join(dir, 'ns.json'), JSON.stringify({ resourceType: 'NamingSystem' }));
      const reg = loadProfileRegistry(dir);
      expect(reg.urls()).toEqual([TEST_PROFILE_URL]);
      expect(reg.get(TEST_PROFILE_URL)?.name).toBe('TestPatientBirthDate');

      const diff = {
        ...profile,
        url: 'https://county-hie.org/fhir/StructureDefinition/diff-only',
        snapshot: undefined,
      };
      await writeFile(path.join(dir, 'diff.json'), JSON.stringify(diff));
      await writeFile(path.join(dir, 'broken.json'), '{ "resourceType": ');
      let caught: unknown;
      try {
        loadProfileRegistry(dir);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ProfileLoadError);
      expect((caught as ProfileLoadError).problems.map((p) => path.basename(p.file))).toEqual([
        'broken.json',
      ]);
      await rm(path.join(dir, 'broken.json'));
      expect(() => loadProfileRegistry(dir)).toThrow(/diff\.json: no snapshot/);
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it('an absent folder is an empty registry', () => {
    expect(loadProfileRegistry(path.join(os.tmpdir(), 'hie-no-such-folder-xyz')).urls()).toEqual([]);
  });
});
