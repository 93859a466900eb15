import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Resource } from 'fhir/r4';
import { afterEach, describe, expect, it } from 'vitest';
import { MappingLoadError } from '../../../src/mapping/engine/index.ts';
import { labelResource, loadSensitivityRules } from '../../../src/mapping/sensitivity/index.ts';
import { R, label, security } from './helpers.ts';

/** A small table: one rule matching by category (a local code system under {base}). */
const GOOD = `version: 2
rules:
  - id: psy-by-category
    label: http://terminology.hl7.org/CodeSystem/v3-ActCode|PSY
    elements: [Condition.category]
    match:
      - systems: ['{base}/CodeSystem/condition-category']
        codes: [psychiatry]
`;

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function tableFile(text: string): Promise<string> {
  dir = await mkdtemp(path.join(os.tmpdir(), 'hie-sensitivity-'));
  const file = path.join(dir, 'rules.yaml');
  await writeFile(file, text);
  return file;
}

async function problems(text: string) {
  const file = await tableFile(text);
  let err: unknown;
  try {
    loadSensitivityRules(file);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(MappingLoadError);
  const all = (err as MappingLoadError).problems;
  for (const p of all) expect(p.file).toBe(file);
  return all;
}

describe('loadSensitivityRules', () => {
  it('loads a table whose rule matches by category, with {base} replaced', async () => {
    const rules = loadSensitivityRules(await tableFile(GOOD), { canonicalBase: 'https://hie.example/fhir' });
    expect(rules.version).toBe(2);
    const hit = {
      resourceType: 'Condition',
      subject: { reference: 'urn:uuid:p' },
      category: [
        {
          coding: [{ system: 'https://hie.example/fhir/CodeSystem/condition-category', code: 'psychiatry' }],
        },
      ],
    } as Resource;
    labelResource(hit, rules);
    expect(security(hit)).toEqual([label('PSY'), R]);
    const otherBase = structuredClone(hit) as any;
    otherBase.meta = undefined;
    otherBase.category[0].coding[0].system = 'https://county-hie.org/fhir/CodeSystem/condition-category';
    labelResource(otherBase, rules);
    expect(security(otherBase)).toEqual([]);
  });

  it('refuses a YAML syntax error with its line', async () => {
    const [p, ...rest] = await problems(GOOD.replace('codes: [psychiatry]', 'codes: [psychiatry'));
    expect(rest).toEqual([]);
    expect(p!.reason).toMatch(/^syntax:/);
    expect(p!.line).toBeGreaterThanOrEqual(8);
  });

  it('refuses a schema violation with the line of the field', async () => {
    const ps = await problems(GOOD.replace('    label: http', '    lable: http'));
    const reasons = ps.map((p) => p.reason);
    expect(reasons).toContain('schema: "label" is required in /rules/0');
    expect(reasons).toContain('schema: unknown field "lable" at /rules/0/lable');
    expect(ps.find((p) => p.reason.includes('"lable"'))!.line).toBe(4);
  });

  it('refuses a match with no codes, prefixes or ranges', async () => {
    const [p] = await problems(GOOD.replace('        codes: [psychiatry]\n', ''));
    expect(p!.reason).toBe('schema: /rules/0/match/0 needs at least one of codes, prefixes, ranges');
    expect(p!.line).toBe(7);
  });

  it('refuses a missing version and a SNOMED code written as a number', async () => {
    const ps = await problems(GOOD.replace('version: 2\n', '').replace('[psychiatry]', '[86406008]'));
    expect(ps.map((p) => p.reason)).toEqual(
      expect.arrayContaining([
        'schema: "version" is required',
        'schema: /rules/0/match/0/codes/0 must be string',
      ]),
    );
  });

  it('refuses an element R4 does not have, or one that is not coded, with its line', async () => {
    const ps = await problems(
      GOOD.replace('[Condition.category]', '[Condtion.code, Condition.onsetDateTime]'),
    );
    expect(ps.map((p) => [p.line, p.reason])).toEqual([
      [5, '"Condtion.code" is not an R4 element'],
      [5, '"Condition.onsetDateTime" is dateTime, not a CodeableConcept or Coding'],
    ]);
  });

  it('refuses an empty range, a duplicate rule id and a propagate element that is no Reference', async () => {
    const text = `${GOOD.replace('codes: [psychiatry]', 'ranges: [F99-F00]')}  - id: psy-by-category
    label: http://terminology.hl7.org/CodeSystem/v3-ActCode|PSY
    elements: [Condition.code]
    match: [{ systems: [x], prefixes: [F] }]
propagate: [DiagnosticReport.code]
`;
    const reasons = (await problems(text)).map((p) => `${p.line}: ${p.reason}`);
    expect(reasons).toEqual([
      '8: range "F99-F00" is empty: F99 comes after F00',
      '9: rule id "psy-by-category" is used twice',
      '13: "DiagnosticReport.code" is CodeableConcept, not a Reference',
    ]);
  });

  it('refuses a file that cannot be read', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'hie-sensitivity-'));
    expect(() => loadSensitivityRules(path.join(dir!, 'missing.yaml'))).toThrow(MappingLoadError);
  });
});
