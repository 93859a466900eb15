import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Patient } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  NATIONAL_ID_SYSTEM,
  nationalIdCheckChar,
  normalizeNationalId,
} from '../../../src/identity/national-id.ts';
import { blockingKeys } from '../../../src/identity/match/blocking.ts';
import { decidePair } from '../../../src/identity/match/decide.ts';
import { matchRecordOf } from '../../../src/identity/match/record.ts';
import { loadMatchRules } from '../../../src/identity/match/rules.ts';

const BASE = 'https://county-hie.org/fhir';
const here = path.dirname(fileURLToPath(import.meta.url));

interface CaseRecord {
  name: string;
  sex?: 'M' | 'F';
  birth?: string;
  nid?: string;
  ins?: string;
  card?: string;
  phone?: string;
  addr?: string;
}
interface HardCase {
  id: string;
  why: string;
  a: CaseRecord;
  b: CaseRecord;
  expect: 'link' | 'review' | 'new' | 'not-link' | 'not-new';
  rule?: string;
}

const cases = parseYaml(readFileSync(path.join(here, 'hard-cases.yaml'), 'utf8')) as HardCase[];

/** `…?` → the 17 digits plus their computed check character (full-width digits kept as typed). */
function nationalId(raw: string): string {
  if (!raw.endsWith('?')) return raw;
  const digits = raw.slice(0, -1);
  return digits + nationalIdCheckChar(normalizeNationalId(digits));
}

function patient(id: string, r: CaseRecord): Patient {
  const identifier = [
    ...(r.nid ? [{ system: NATIONAL_ID_SYSTEM, value: nationalId(String(r.nid)) }] : []),
    ...(r.ins ? [{ system: `${BASE}/sid/insurance`, value: String(r.ins) }] : []),
    ...(r.card ? [{ system: `${BASE}/sid/health-card`, value: String(r.card) }] : []),
  ];
  return {
    resourceType: 'Patient',
    id,
    identifier,
    name: [{ text: r.name }],
    ...(r.sex ? { gender: r.sex === 'M' ? ('male' as const) : ('female' as const) } : {}),
    ...(r.birth ? { birthDate: String(r.birth) } : {}),
    ...(r.phone ? { telecom: [{ system: 'phone' as const, value: String(r.phone) }] } : {}),
    ...(r.addr ? { address: [{ text: r.addr }] } : {}),
  };
}

const rules = loadMatchRules();
const today = new Date('2026-12-01T00:00:00Z');

describe('hard cases (written before tuning)', () => {
  it('holds at least 50 pairs', () => {
    expect(cases.length).toBeGreaterThanOrEqual(50);
    expect(new Set(cases.map((c) => c.id)).size).toBe(cases.length);
  });

  it.each(cases.map((c) => [c.id, c] as const))('%s', (_id, c) => {
    const a = matchRecordOf(patient('a', c.a), { base: BASE, today });
    const b = matchRecordOf(patient('b', c.b), { base: BASE, today });
    const decision = decidePair(a, b, rules);
    const both = decidePair(b, a, rules);
    // Matching is symmetric: the order records arrive in must not change the answer.
    expect(both.outcome).toBe(decision.outcome);
    const detail = `${c.why} — got ${decision.outcome} (${decision.rule}, score ${decision.score}${
      decision.veto ? `, veto ${decision.veto}` : ''
    })`;
    if (c.expect === 'not-link') expect(decision.outcome, detail).not.toBe('link');
    else if (c.expect === 'not-new') expect(decision.outcome, detail).not.toBe('new');
    else expect(decision.outcome, detail).toBe(c.expect);
    if (c.rule) expect(decision.rule, detail).toBe(c.rule);
  });

  it('every pair that should link shares a blocking key, so the matcher meets it', () => {
    for (const c of cases.filter((x) => x.expect === 'link')) {
      const a = blockingKeys(matchRecordOf(patient('a', c.a), { base: BASE, today }), rules);
      const b = blockingKeys(matchRecordOf(patient('b', c.b), { base: BASE, today }), rules);
      expect(
        a.some((k) => b.includes(k)),
        c.id,
      ).toBe(true);
    }
  });
});
