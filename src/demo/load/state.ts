import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { readJsonIfExists, writeJsonAtomic } from '../../app/embedded/json-file.ts';

/**
 * `$HIE_DATA_DIR/demo/state.json`: how far the start-up load of the demo county got, so a
 * process killed half-way resumes where it stopped, with the same county (same as-of date).
 */
export interface DemoLoadState {
  format: 'county-hie-demo-load/1';
  seed: string;
  residents: number;
  /** `YYYY-MM-DD`, fixed at the first start so a resumed load generates nothing different. */
  asOf: string;
  /** The county directory is written completely (its manifest last). */
  generated: boolean;
  /** Files of the manifest sent completely; a resumed load skips them. */
  doneFiles: string[];
  /** Every message sent and every one reached a final state: later starts do nothing. */
  complete: boolean;
  completedAt?: string;
}

export function demoDir(dataDir: string): string {
  return path.join(dataDir, 'demo');
}

export function countyDir(dataDir: string): string {
  return path.join(demoDir(dataDir), 'county');
}

export function stateFile(dataDir: string): string {
  return path.join(demoDir(dataDir), 'state.json');
}

export async function readDemoState(dataDir: string): Promise<DemoLoadState | undefined> {
  const state = await readJsonIfExists<DemoLoadState>(stateFile(dataDir));
  if (state && state.format !== 'county-hie-demo-load/1')
    throw new Error(`${stateFile(dataDir)} has an unknown format; remove the demo folder to load again`);
  return state;
}

export async function writeDemoState(dataDir: string, state: DemoLoadState): Promise<void> {
  await mkdir(demoDir(dataDir), { recursive: true });
  await writeJsonAtomic(stateFile(dataDir), state);
}

/** Today's date in China Standard Time (+08:00), the county's clock. */
export function todayInChina(now: number = Date.now()): string {
  return new Date(now + 8 * 3600_000).toISOString().slice(0, 10);
}
