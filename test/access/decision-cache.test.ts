import { describe, expect, it } from 'vitest';
import type { Caller } from '../../src/access/caller.ts';
import { DecisionCache } from '../../src/access/decision-cache.ts';
import type { PersonDecision } from '../../src/access/person-decision.ts';

const caller = (subject: string): Caller => ({
  kind: 'clinician',
  issuer: 'https://hie.test',
  subject,
  institution: 'township-a',
  privacyOfficer: false,
});
const decision = (allowed: boolean, byGrant = false): PersonDecision => ({
  allowed,
  byGrant,
  visible: () => true,
});

describe('kept access decisions', () => {
  it('reuse a decision for the same caller and record state until it expires', async () => {
    let now = 1_000;
    const cache = new DecisionCache(30_000, 100, () => now);
    let asked = 0;
    const decide = async () => (asked++, decision(true));
    await cache.decision(caller('dr-1'), 'state-1', decide);
    await cache.decision(caller('dr-1'), 'state-1', decide);
    expect(asked).toBe(1);
    // Another state of the record, or another caller: decided anew.
    await cache.decision(caller('dr-1'), 'state-2', decide);
    await cache.decision(caller('dr-2'), 'state-1', decide);
    expect(asked).toBe(3);
    now += 30_000;
    await cache.decision(caller('dr-1'), 'state-1', decide);
    expect(asked).toBe(4);
    expect(cache.counts).toEqual({ hits: 1, decided: 4 });
  });

  it('never keep a decision that rests on a break-the-glass grant', async () => {
    const cache = new DecisionCache(30_000);
    let asked = 0;
    const decide = async () => (asked++, decision(true, true));
    await cache.decision(caller('dr-1'), 's', decide);
    await cache.decision(caller('dr-1'), 's', decide);
    expect(asked).toBe(2);
  });

  it('hold at most maxEntries decisions, dropping the oldest', async () => {
    const cache = new DecisionCache(30_000, 2);
    let asked = 0;
    const decide = async () => (asked++, decision(false));
    for (const s of ['a', 'b', 'c']) await cache.decision(caller('dr-1'), s, decide);
    await cache.decision(caller('dr-1'), 'c', decide);
    expect(asked).toBe(3);
    await cache.decision(caller('dr-1'), 'a', decide);
    expect(asked).toBe(4);
  });
});
