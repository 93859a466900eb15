import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDemoCounty } from '../../src/demo/generate.ts';
import type { DemoManifest } from '../../src/demo/types.ts';

const OPTS = { residents: 200, seed: 'generate-test', asOf: '2026-06-30' };

async function tree(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const f of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!f.isFile()) continue;
    const full = path.join(f.parentPath, f.name);
    out.set(path.relative(dir, full).split(path.sep).join('/'), await readFile(full));
  }
  return out;
}

describe('generateDemoCounty', () => {
  let root: string;
  let a: string;
  let b: string;
  let manifest: DemoManifest;

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'hie-demo-'));
    a = path.join(root, 'a');
    b = path.join(root, 'b');
    manifest = await generateDemoCounty(OPTS, a);
    await generateDemoCounty(OPTS, b);
  }, 120_000);
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes byte-identical directories for the same seed and asOf', async () => {
    const ta = await tree(a);
    const tb = await tree(b);
    expect([...ta.keys()].sort()).toEqual([...tb.keys()].sort());
    for (const [file, bytes] of ta) expect(bytes.equals(tb.get(file)!), file).toBe(true);
    expect(ta.has('manifest.json')).toBe(true);
    for (const f of ['persons.ndjson', 'registrations.ndjson', 'care-events.ndjson', 'README.md'])
      expect(ta.has(`ground-truth/${f}`), f).toBe(true);
  });

  it('gives a different county for another seed', async () => {
    const c = path.join(root, 'c');
    await generateDemoCounty({ ...OPTS, seed: 'another' }, c);
    const persons = (dir: string) => readFile(path.join(dir, 'ground-truth/persons.ndjson'), 'utf8');
    expect(await persons(c)).not.toBe(await persons(a));
    await rm(c, { recursive: true, force: true });
  }, 60_000);

  it('lists every file it wrote in the manifest, with its message count, phase by phase', async () => {
    expect(manifest.phases.map((p) => p.name)).toEqual(['1-registrations', '2-care', '3-deliberately-bad']);
    const written = await tree(a);
    const listed = manifest.phases.flatMap((p) => p.files);
    expect(listed.map((f) => f.path).sort()).toEqual(
      [...written.keys()].filter((f) => f.startsWith('messages/')).sort(),
    );
    for (const f of listed.filter((x) => x.channel.startsWith('hl7v2'))) {
      const text = written.get(f.path)!.toString('utf8');
      expect(text.split('\n').filter((l) => l.startsWith('MSH|')).length, f.path).toBe(f.messages);
    }
    expect(manifest.totals.messages).toBe(listed.reduce((n, f) => n + f.messages, 0));
    expect(manifest.totals.expectedFailures).toBe(manifest.expectedFailures.length);
    const onDisk = JSON.parse(written.get('manifest.json')!.toString('utf8')) as DemoManifest;
    expect(onDisk).toEqual(manifest);
  });

  it('sends about 3–6 messages per resident, through every channel', () => {
    const perResident = manifest.totals.messages / OPTS.residents;
    expect(perResident).toBeGreaterThanOrEqual(3);
    expect(perResident).toBeLessThanOrEqual(6);
    const channels = new Set(manifest.phases.flatMap((p) => p.files.map((f) => f.channel.split(':')[0])));
    expect([...channels].sort()).toEqual(['csv', 'fhir', 'hl7v2-http', 'hl7v2-mllp', 'json']);
  });

  it('lists deliberately bad messages in phase 3 only, each with a reason and an answer', () => {
    const bad = manifest.phases.find((p) => p.name === '3-deliberately-bad')!;
    const badPaths = new Set(bad.files.map((f) => f.path));
    expect(manifest.expectedFailures.length).toBeGreaterThanOrEqual(4);
    for (const f of manifest.expectedFailures) {
      expect(badPaths.has(f.path)).toBe(true);
      expect(f.reason.length).toBeGreaterThan(10);
      expect(['AE', 'AR', '422']).toContain(f.expect);
      expect(f.index).toBeLessThan(bad.files.find((x) => x.path === f.path)!.messages);
    }
    expect(manifest.expectedFailures.some((f) => f.expect === 'AE')).toBe(true);
    expect(manifest.expectedFailures.some((f) => f.expect === 'AR')).toBe(true);
  });

  it('writes the ground truth: residents and what each institution has on file', async () => {
    const persons = (await readFile(path.join(a, 'ground-truth/persons.ndjson'), 'utf8')).trim().split('\n');
    expect(persons).toHaveLength(OPTS.residents);
    const regs = (await readFile(path.join(a, 'ground-truth/registrations.ndjson'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { personId: string; institution: string; mrn: string; errors: string[] });
    expect(new Set(regs.map((r) => r.personId)).size).toBeGreaterThanOrEqual(150);
    for (const r of regs) {
      expect(r.mrn).not.toBe('');
      expect(Array.isArray(r.errors)).toBe(true);
    }
    expect(regs.some((r) => r.errors.length > 0)).toBe(true);
  });

  it('regenerates into an earlier generation of the same county, and refuses anything else', async () => {
    await expect(generateDemoCounty(OPTS, a)).resolves.toEqual(manifest);
    await expect(generateDemoCounty({ ...OPTS, seed: 'other' }, a)).rejects.toThrow(/not empty/);
    const stranger = path.join(root, 'stranger');
    await generateDemoCounty({ ...OPTS, residents: 20 }, stranger);
    await writeFile(path.join(stranger, 'notes.txt'), 'mine');
    await expect(generateDemoCounty({ ...OPTS, residents: 20 }, stranger)).rejects.toThrow(/notes\.txt/);
    const plain = path.join(root, 'plain');
    await generateDemoCounty({ ...OPTS, residents: 20 }, plain).then(() =>
      rm(path.join(plain, 'manifest.json')),
    );
    await expect(generateDemoCounty({ ...OPTS, residents: 20 }, plain)).rejects.toThrow(/not empty/);
  }, 60_000);
});
