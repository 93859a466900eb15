import type { Caller } from './caller.ts';
import type { PersonDecision } from './person-decision.ts';

/**
 * Access decisions on whole persons, kept for a short while. Deciding whether a clinician may
 * open a person reads the person's encounters, referrals, contracts, care teams and consents —
 * the costliest statement of a kept `$summary` — while the answer changes only when those records
 * change or time passes. A decision is kept under the record's state (`recordStateOf`: change
 * counters, grants, links) and the caller, so a new encounter, a revoked consent, a new grant or
 * a link change is seen on the next request; `ttlMs` bounds how long time alone (an encounter
 * leaving the care-relationship window, a contract ending) can go unnoticed. Decisions that rest
 * on a break-the-glass grant are never kept: the grant's own expiry must end them.
 */
export class DecisionCache {
  /** Least recently stored first (a Map iterates in insertion order). */
  private readonly kept = new Map<string, { decision: PersonDecision; until: number }>();
  readonly counts = { hits: 0, decided: 0 };

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly clock: () => number = Date.now,
  ) {}

  get enabled(): boolean {
    return this.ttlMs > 0 && this.maxEntries > 0;
  }

  /** The kept decision for this caller and record state, or `decide()`'s (kept unless by grant). */
  async decision(
    caller: Caller,
    recordState: string,
    decide: () => Promise<PersonDecision>,
  ): Promise<PersonDecision> {
    const key = `${recordState}\n${JSON.stringify(caller)}`;
    const now = this.clock();
    const hit = this.kept.get(key);
    if (hit && hit.until > now) {
      this.counts.hits++;
      return hit.decision;
    }
    if (hit) this.kept.delete(key);
    this.counts.decided++;
    const decision = await decide();
    if (!decision.byGrant) {
      this.kept.set(key, { decision, until: now + this.ttlMs });
      for (const oldest of this.kept.keys()) {
        if (this.kept.size <= this.maxEntries) break;
        this.kept.delete(oldest);
      }
    }
    return decision;
  }
}
