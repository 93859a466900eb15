import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_MATCH_RULES, loadMatchRules, MatchRulesError } from '../../../src/identity/match/rules.ts';

/** Folders the variants were written to, removed when the file's tests are done. */
const made: string[] = [];
afterAll(async () => {
  for (const dir of made) await rm(dir, { recursive: true, force: true });
});

async function variant(edit: (text: string) => string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hie-rules-'));
  made.push(dir);
  const file = path.join(dir, 'rules.yaml');
  await writeFile(file, edit(await readFile(DEFAULT_MATCH_RULES, 'utf8')));
  return file;
}

describe('matching rules file', () => {
  it('loads the shipped rules with weights log2(m/u)', () => {
    const rules = loadMatchRules();
    expect(rules.version).toMatch(/\S/);
    expect(rules.weights.name.exact).toBeCloseTo(Math.log2(0.88 / 0.001), 5);
    // Agreement must weigh for a match and disagreement against it, field by field.
    for (const field of ['name', 'birthDate', 'phone', 'address'] as const) {
      const levels = rules.weights[field] as Record<string, number>;
      expect(levels['different']!, field).toBeLessThan(0);
    }
    expect(rules.thresholds.review).toBeLessThanOrEqual(rules.thresholds.link);
  });

  it('refuses a file with an unknown blocking key, naming where', async () => {
    const file = await variant((t) => t.replace('  - phone+birth-date\n', '  - phone+favourite-colour\n'));
    expect(() => loadMatchRules(file)).toThrow(MatchRulesError);
    expect(() => loadMatchRules(file)).toThrow(/\/blocking\/5/);
  });

  it('refuses an m probability above 1 and thresholds in the wrong order', async () => {
    const m = await variant((t) => t.replace('exact: { m: 0.88, u: 0.001 }', 'exact: { m: 8.8, u: 0.001 }'));
    expect(() => loadMatchRules(m)).toThrow(/\/fields\/name\/exact\/m/);
    const order = await variant((t) => t.replace('review: 18', 'review: 40'));
    expect(() => loadMatchRules(order)).toThrow(/review \(40\) is above link/);
  });
});
