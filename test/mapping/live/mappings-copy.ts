import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_MAPPINGS_DIR } from '../../../src/mapping/engine/index.ts';

/**
 * A private copy of the shipped mapping files the tests edit. Only the files the tests use are
 * copied, so that a mapping being written elsewhere in the repo cannot break these tests.
 */
export async function copyMappings(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hie-live-mappings-'));
  for (const rel of [
    'conceptmaps',
    'csv/village-visits.yaml',
    'json/township-his-encounter.yaml',
    'hl7v2/adt.yaml',
    'hl7v2/adt-merge.yaml',
  ])
    await cp(path.join(DEFAULT_MAPPINGS_DIR, rel), path.join(dir, rel), { recursive: true });
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Polls until `check` holds (file events arrive asynchronously). */
export async function eventually(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const SAMPLES = path.join(DEFAULT_MAPPINGS_DIR, 'samples');
