import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { loadMappings, MappingLoadError, type LoadProblem } from '../../../src/mapping/engine/index.ts';

/**
 * Throw-away mappings folders for HL7 files written by a test (`hl7v2/<name>`), and the problems a
 * folder that must not load reports. `removeAll` (in an afterEach) deletes every folder made.
 */
export function hl7MappingFolders() {
  const made: string[] = [];
  const folder = async (files: Record<string, string>): Promise<string> => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hie-hl7-mappings-'));
    made.push(dir);
    await mkdir(path.join(dir, 'hl7v2'));
    for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, 'hl7v2', name), text);
    return dir;
  };
  const problems = async (files: Record<string, string>): Promise<LoadProblem[]> => {
    const err = await loadMappings(await folder(files)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MappingLoadError);
    return (err as MappingLoadError).problems;
  };
  const removeAll = async () => {
    await Promise.all(made.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  };
  return { folder, problems, removeAll };
}
