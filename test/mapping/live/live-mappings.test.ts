import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/kernel/logger.ts';
import { MappingLoadError } from '../../../src/mapping/engine/index.ts';
import { createLiveMappings, isLiveMappings, type LiveMappings } from '../../../src/mapping/live/index.ts';
import { parseCsv } from '../../../src/parse/csv/parse-csv.ts';
import { copyMappings, eventually, SAMPLES } from './mappings-copy.ts';

const VILLAGE = { institution: 'any-clinic', format: 'csv', feed: 'village-visits' };
const FILE = 'csv/village-visits.yaml';

let dir: string;
let remove: () => Promise<void>;
let live: LiveMappings | undefined;

beforeEach(async () => {
  ({ dir, remove } = await copyMappings());
});
afterEach(async () => {
  await live?.close();
  live = undefined;
  await remove();
});

async function edit(rel: string, change: (text: string) => string): Promise<void> {
  const file = path.join(dir, rel);
  await writeFile(file, change(await readFile(file, 'utf8')));
}

/**
 * Every `version:` line → one line with the given version; with `duplicate`, two of them (a YAML
 * error: keys are unique), so that the next call repairs the file.
 */
const setVersion =
  (v: string, duplicate = false) =>
  (text: string) =>
    text.replace(/^(version: .*\n)+/m, duplicate ? `version: ${v}\nversion: ${v}\n` : `version: ${v}\n`);

describe('live mappings, reloaded on request', () => {
  beforeEach(async () => {
    live = await createLiveMappings(dir, { logger: silentLogger(), watch: 'off' });
  });

  it('serves the set like a MappingSet', () => {
    expect(isLiveMappings(live!)).toBe(true);
    expect(live!.watchMode).toBe('off');
    expect(live!.select(VILLAGE)?.version).toBe('1');
    expect(live!.byId('township-his-encounter')?.feed).toBe('township-his');
    expect([...live!.conceptMaps.keys()].sort()).toEqual([
      'hl7-patient-class',
      'shared-centre-report-items',
      'township-vitals',
      'village-diagnosis',
    ]);
    expect(live!.conceptMapResources().get('village-diagnosis')?.url).toBe(
      'https://county-hie.org/fhir/ConceptMap/village-diagnosis',
    );
  });

  it('takes a new version; refuses a broken file and keeps the previous one; takes the fix', async () => {
    await edit(FILE, setVersion('2'));
    expect(await live!.reload()).toBe('reloaded');
    expect(live!.select(VILLAGE)?.version).toBe('2');
    expect(live!.lastError()).toBeUndefined();

    const text = await readFile(path.join(dir, FILE), 'utf8');
    await edit(FILE, setVersion('3', true));
    const line = text.split('\n').findIndex((l) => l.startsWith('version:')) + 2;
    expect(await live!.reload()).toBe('refused');
    expect(live!.select(VILLAGE)?.version).toBe('2');
    const failure = live!.lastError()!;
    expect(failure.at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(failure.problems[0]).toMatchObject({ file: path.join(dir, FILE), line });
    expect(failure.problems[0]!.reason).toMatch(/unique/i);

    await edit(FILE, setVersion('3'));
    expect(await live!.reload()).toBe('reloaded');
    expect(live!.select(VILLAGE)?.version).toBe('3');
    expect(live!.lastError()).toBeUndefined();
  });

  it('refuses a set whose mappings no longer compile (missing ConceptMap), naming the file', async () => {
    await writeFile(path.join(dir, 'conceptmaps/village-diagnosis.json'), '{ "resourceType": "ConceptMap", ');
    expect(await live!.reload()).toBe('refused');
    expect(live!.lastError()!.problems.map((p) => p.file)).toContain(
      path.join(dir, 'conceptmaps/village-diagnosis.json'),
    );
    // Still translating with the map it had.
    expect(live!.conceptMaps.get('village-diagnosis')?.translate('GXY')[0]?.code).toBe('I10');
  });

  it('counts the messages mapped through select(), not lookups by id', async () => {
    const rows = parseCsv(await readFile(path.join(SAMPLES, 'village-visits.csv')), {
      charset: 'UTF-8',
    }).rows;
    expect(live!.usage('village-visits')).toEqual({ used: 0 });
    const ctx = {
      institution: {
        id: 'any-clinic',
        name: { zh: '诊所', en: 'Clinic' },
        tier: 'village-clinic' as const,
        facilityCodes: [],
        formats: ['csv:village-visits'],
        timezone: '+08:00',
        charset: 'UTF-8',
        active: true,
        publicKeys: [],
        mllpAllowFrom: [],
      },
      canonicalBase: 'https://county-hie.org/fhir',
      archiveId: 'a-1',
    };
    const mapping = live!.select(VILLAGE)!;
    for (const row of rows) mapping.map(row, ctx);
    live!.byId('village-visits')!.map(rows[0]!, ctx);
    const usage = live!.usage('village-visits');
    expect(usage.used).toBe(rows.length);
    expect(usage.lastUsedAt).toMatch(/^\d{4}-/);
    // Counts belong to the id and survive a reload to a new version.
    await edit(FILE, setVersion('2'));
    await live!.reload();
    expect(live!.usage('village-visits').used).toBe(rows.length);
  });

  it('refuses to start on a broken folder (nothing to fall back on)', async () => {
    await edit(FILE, setVersion('9', true));
    await expect(createLiveMappings(dir, { logger: silentLogger(), watch: 'off' })).rejects.toBeInstanceOf(
      MappingLoadError,
    );
  });
});

describe('live mappings, following the folder', () => {
  it('reloads on an edit, on an atomic save (rename over the file), and refuses a broken save', async () => {
    live = await createLiveMappings(dir, { logger: silentLogger(), debounceMs: 50 });
    expect(live.watchMode).toBe('watch');

    await edit(FILE, setVersion('2'));
    await eventually(() => live!.select(VILLAGE)?.version === '2');

    // Editors save by writing a temporary file and renaming it over the original.
    const file = path.join(dir, FILE);
    const text = await readFile(file, 'utf8');
    await writeFile(`${file}.tmp`, setVersion('3')(text));
    await rename(`${file}.tmp`, file);
    await eventually(() => live!.select(VILLAGE)?.version === '3');

    await edit(FILE, setVersion('4', true));
    await eventually(() => live!.lastError() !== undefined);
    expect(live.select(VILLAGE)?.version).toBe('3');
    expect(live.lastError()!.problems[0]?.file).toBe(file);

    await edit(FILE, setVersion('4'));
    await eventually(() => live!.select(VILLAGE)?.version === '4');
    expect(live.lastError()).toBeUndefined();
  });

  it('picks up a new mapping file in a new sub-folder', async () => {
    live = await createLiveMappings(dir, { logger: silentLogger(), debounceMs: 50 });
    const text = await readFile(path.join(dir, FILE), 'utf8');
    await rename(path.join(dir, 'csv'), path.join(dir, 'csv-old'));
    await mkdir(path.join(dir, 'csv'));
    await writeFile(path.join(dir, FILE), setVersion('7')(text));
    await eventually(() => live!.select(VILLAGE)?.version === '7');
  });

  it('polls where folders cannot be watched', async () => {
    live = await createLiveMappings(dir, { logger: silentLogger(), watch: 'poll', pollMs: 50 });
    expect(live.watchMode).toBe('poll');
    // The first fingerprint is taken asynchronously; let it settle before changing anything.
    await new Promise((r) => setTimeout(r, 150));
    await edit(FILE, setVersion('5'));
    await eventually(() => live!.select(VILLAGE)?.version === '5');
  });
});
