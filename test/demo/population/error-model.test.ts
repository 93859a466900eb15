import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import {
  DEFAULT_ERROR_MODEL_FILE,
  ERROR_KINDS,
  TIERS,
  loadErrorModel,
  validateErrorModel,
} from '../../../src/demo/population/error-model.ts';

const raw = () => parse(readFileSync(DEFAULT_ERROR_MODEL_FILE, 'utf8'));

describe('error model v1', () => {
  it('loads, validates and is cached', () => {
    const model = loadErrorModel();
    expect(model.version).toBe('1');
    expect(Object.keys(model.errors).sort()).toEqual([...ERROR_KINDS].sort());
    for (const tier of TIERS) {
      for (const kind of ERROR_KINDS) expect(model.tiers[tier].probabilities[kind]).toBeGreaterThanOrEqual(0);
    }
    expect(loadErrorModel()).toBe(model);
    expect(loadErrorModel(DEFAULT_ERROR_MODEL_FILE)).toBe(model);
  });

  it('says in its header that it was fixed before anyone tuned the matcher', () => {
    const text = readFileSync(DEFAULT_ERROR_MODEL_FILE, 'utf8');
    expect(text.split('\n').slice(0, 10).join('\n')).toMatch(
      /fixed before anyone tuned the identity matcher/,
    );
  });

  it('makes village clinics miss IDs most often and the county hospital least', () => {
    const p = (tier: (typeof TIERS)[number]) =>
      loadErrorModel().tiers[tier].probabilities['national-id-missing'];
    expect(p('village-clinic')).toBeGreaterThan(p('township-health-centre'));
    expect(p('township-health-centre')).toBeGreaterThan(p('county-hospital'));
  });

  it('ships at least 30 homophone groups, each character in one group only', () => {
    const groups = loadErrorModel().homophoneGroups.filter((g) => [...g.chars].length > 1);
    expect(groups.length).toBeGreaterThanOrEqual(30);
    const all = groups.flatMap((g) => [...g.chars]);
    expect(new Set(all).size).toBe(all.length);
    const ming = groups.find((g) => g.chars.includes('明'))!;
    expect([...ming.chars]).toEqual(expect.arrayContaining(['铭', '鸣']));
  });

  describe('a broken file gives a clear error', () => {
    const broken = (edit: (m: any) => void) => {
      const m = raw();
      edit(m);
      return () => validateErrorModel(m, 'test.yaml');
    };

    it('names a probability out of range', () => {
      expect(broken((m) => (m.tiers['village-clinic'].probabilities['national-id-missing'] = 1.5))).toThrow(
        'error model test.yaml: tiers.village-clinic.probabilities.national-id-missing must be a number between 0 and 1',
      );
      expect(broken((m) => (m.tiers['county-hospital'].probabilities['sex-wrong'] = '2%'))).toThrow(
        /tiers\.county-hospital\.probabilities\.sex-wrong must be a number/,
      );
    });

    it('names a missing tier, error kind or description', () => {
      expect(broken((m) => delete m.tiers['shared-centre'])).toThrow(/tiers\.shared-centre is missing/);
      expect(broken((m) => delete m.tiers['village-clinic'].probabilities['phone-missing'])).toThrow(
        /tiers\.village-clinic\.probabilities\.phone-missing/,
      );
      expect(broken((m) => delete m.errors['name-homophone'])).toThrow(
        /errors\.name-homophone must have a description/,
      );
    });

    it('refuses unknown kinds and tiers, a numeric version, a bad MRN width and a repeated homophone', () => {
      expect(broken((m) => (m.errors['name-swap'] = { description: 'x' }))).toThrow(
        /errors\.name-swap is not a known/,
      );
      expect(broken((m) => (m.tiers['hospice'] = m.tiers['county-hospital']))).toThrow(
        /tiers\.hospice is not a tier/,
      );
      expect(broken((m) => (m.version = 1))).toThrow(/version must be a non-empty string/);
      expect(broken((m) => (m.tiers['village-clinic'].mrn.digits = 3))).toThrow(
        /mrn\.digits must be an integer/,
      );
      expect(broken((m) => m.homophoneGroups.push({ pinyin: 'ming', chars: '明冥' }))).toThrow(/repeats 明/);
      expect(broken((m) => (m.variantCharacters['华'] = '华'))).toThrow(/variantCharacters\.华/);
    });

    it('names the file when loading one that is broken or not YAML', () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'error-model-'));
      try {
        const m = raw();
        delete m.homophoneGroups;
        const file = path.join(dir, 'v9.yaml');
        writeFileSync(file, stringify(m));
        expect(() => loadErrorModel(file)).toThrow(`error model ${file}: homophoneGroups must be a list`);
        const notYaml = path.join(dir, 'bad.yaml');
        writeFileSync(notYaml, 'version: "1"\n  errors: [unclosed\n');
        expect(() => loadErrorModel(notYaml)).toThrow(
          new RegExp(`error model ${notYaml.replaceAll('.', '\\.')}`),
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
