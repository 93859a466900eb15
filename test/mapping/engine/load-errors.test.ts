import { mkdtemp, mkdir, rm, writeFile, copyFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadMappings, MappingLoadError, DEFAULT_MAPPINGS_DIR } from '../../../src/mapping/engine/index.ts';

const GOOD = `id: small
version: 1
format: csv
feed: visits
resources:
  - name: patient
    type: Patient
    key: { system: '{base}/sid/mrn/{institution}', value: { path: 患者编号 } }
    elements:
      - { target: 'name[0].text', path: 姓名 }
`;

let dir: string;
// Every folder a test made (a test may make several): all removed after it.
const made: string[] = [];
afterEach(async () => {
  await Promise.all(made.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function folder(files: Record<string, string>): Promise<string> {
  dir = await mkdtemp(path.join(os.tmpdir(), 'hie-mappings-'));
  made.push(dir);
  await mkdir(path.join(dir, 'csv'));
  await mkdir(path.join(dir, 'conceptmaps'));
  await copyFile(
    path.join(DEFAULT_MAPPINGS_DIR, 'conceptmaps/village-diagnosis.json'),
    path.join(dir, 'conceptmaps/village-diagnosis.json'),
  );
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return dir;
}

async function problems(files: Record<string, string>) {
  const err = await loadMappings(await folder(files)).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MappingLoadError);
  return (err as MappingLoadError).problems;
}

describe('loadMappings refuses broken files with file, line and reason', () => {
  it('loads a good file', async () => {
    const set = await loadMappings(await folder({ 'csv/small.yaml': GOOD }));
    expect(set.mappings.map((m) => `${m.id}@${m.version}`)).toEqual(['small@1']);
  });

  it('YAML syntax error with its line', async () => {
    const broken = GOOD.replace(
      "      - { target: 'name[0].text', path: 姓名 }",
      "      - { target: 'name[0].text', path: 姓名",
    );
    const [p, ...rest] = await problems({ 'csv/small.yaml': broken });
    expect(rest).toEqual([]);
    expect(p!.file).toBe(path.join(dir, 'csv/small.yaml'));
    expect(p!.reason).toMatch(/^syntax:/);
    expect(p!.line).toBeGreaterThanOrEqual(11);
  });

  it('schema violation names the field and its line', async () => {
    const bad = GOOD.replace('path: 姓名 }', 'path: 姓名, colour: red }');
    const ps = await problems({ 'csv/small.yaml': bad });
    expect(ps).toHaveLength(1);
    expect(ps[0]!.reason).toContain('unknown field "colour"');
    expect(ps[0]!.line).toBe(10);
    const missing = await problems({ 'csv/small.yaml': GOOD.replace('feed: visits\n', '') });
    expect(missing[0]!.reason).toContain('"feed" is required');
  });

  it('a FHIRPath expression that does not compile (syntax, unknown function)', async () => {
    const bad = GOOD.replace('path: 姓名 }', 'path: 姓名, when: "`姓名`.exists( and" }');
    const ps = await problems({ 'csv/small.yaml': bad });
    expect(ps[0]!.reason).toMatch(/FHIRPath does not compile/);
    expect(ps[0]!.line).toBe(10);
    const unknown = GOOD.replace('    type: Patient\n', '    type: Patient\n    when: frobnicate()\n');
    const ps2 = await problems({ 'csv/small.yaml': unknown });
    expect(ps2[0]!.reason).toMatch(/FHIRPath does not compile: .*frobnicate/i);
    expect(ps2[0]!.line).toBe(8);
  });

  it('a missing ConceptMap', async () => {
    const bad = GOOD.replace(
      'path: 姓名 }',
      'path: 姓名 }\n      - { target: maritalStatus, path: 婚姻, as: CodeableConcept, table: marital, conceptMap: no-such-map }',
    );
    const ps = await problems({ 'csv/small.yaml': bad });
    expect(ps[0]!.reason).toContain('ConceptMap "no-such-map"');
    expect(ps[0]!.line).toBe(11);
  });

  it('a reference to an unknown resource name', async () => {
    const bad = GOOD.replace('path: 姓名 }', 'path: 姓名 }\n      - { target: link, reference: person }');
    const ps = await problems({ 'csv/small.yaml': bad });
    expect(ps[0]!.reason).toContain('no resource is named "person"');
  });

  it('a key converted to something that is not text, and an HL7-only conversion in a CSV file', async () => {
    const key = GOOD.replace('value: { path: 患者编号 }', 'value: { path: 患者编号, as: date }');
    const ps = await problems({ 'csv/small.yaml': key });
    expect(ps[0]!.reason).toContain('a key is text: as may be string, code or mrn');
    expect(ps[0]!.line).toBe(8);
    const instant = GOOD.replace(
      'path: 姓名 }',
      'path: 姓名 }\n      - { target: meta.lastUpdated, path: 时间, as: instant }',
    );
    const ps2 = await problems({ 'csv/small.yaml': instant });
    expect(ps2[0]!.reason).toContain('instant converts an HL7 field: it is for HL7 v2 input only');
    expect(ps2[0]!.line).toBe(11);
  });

  it('a tie between two equally specific mappings is a load error; a more specific one is not', async () => {
    const other = GOOD.replace('id: small', 'id: small-two');
    const ps = await problems({ 'csv/small.yaml': GOOD, 'csv/small-two.yaml': other });
    expect(ps).toHaveLength(1);
    expect(ps[0]!.reason).toMatch(
      /tie: (small and small-two|small-two and small) .*csv feed "visits" \(both shipped defaults\)/,
    );
    await rm(dir, { recursive: true });
    const specific = other.replace(
      'feed: visits\n',
      'feed: visits\ninstitutions: [dongcun-village-clinic]\n',
    );
    const set = await loadMappings(await folder({ 'csv/small.yaml': GOOD, 'csv/small-two.yaml': specific }));
    expect(set.mappings).toHaveLength(2);
    // Most specific wins: the institution's own mapping over the shipped default.
    expect(set.select({ institution: 'dongcun-village-clinic', format: 'csv', feed: 'visits' })?.id).toBe(
      'small-two',
    );
    expect(set.select({ institution: 'other-clinic', format: 'csv', feed: 'visits' })?.id).toBe('small');
  });

  it('two mappings for the same institution tie too', async () => {
    const a = GOOD.replace('feed: visits\n', 'feed: visits\ninstitutions: [a-clinic, b-clinic]\n');
    const b = a.replace('id: small', 'id: small-b').replace('[a-clinic, b-clinic]', '[b-clinic]');
    const ps = await problems({ 'csv/a.yaml': a, 'csv/b.yaml': b });
    expect(ps.map((p) => p.reason).join()).toContain('of b-clinic');
  });
});
