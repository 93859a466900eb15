import { decidePair, type PairDecision } from './decide.ts';
import type { MatchRecord } from './record.ts';
import type { MatchRules, Outcome } from './rules.ts';

/** A record the matcher already knows, with the person it belongs to. */
export interface Candidate {
  record: MatchRecord;
  personId: string;
  /** The record waits in review with a provisional person of its own. */
  provisional?: boolean;
}

export interface Resolution {
  outcome: Outcome;
  /** link: the person to join; review: the person of the candidate to review against. */
  personId?: string;
  /** The candidate record whose pair decided it. */
  candidateRef?: string;
  /** The deciding pair; absent when there were no candidates. */
  decision?: PairDecision;
  /** Why, in words, when the pairs alone do not say it (e.g. two persons match). */
  note?: string;
}

const RANK: Record<Outcome, number> = { new: 0, review: 1, link: 2 };

/**
 * Decides which person a record belongs to, from its pairs with the candidates blocking found.
 *
 * Pairs are judged person by person: a person one of whose records carries a different verified
 * national ID is ruled out whatever its other records say ("two different valid IDs never
 * link"). Pairs a reviewer rejected are skipped. Two persons that both qualify for a link is a
 * question for a reviewer, not a coin toss.
 */
export function resolvePerson(
  record: MatchRecord,
  candidates: readonly Candidate[],
  rules: MatchRules,
  rejected: (a: string, b: string) => boolean = () => false,
): Resolution {
  const byPerson = new Map<
    string,
    { best?: { decision: PairDecision; ref: string }; excluded: boolean; provisional: boolean }
  >();
  for (const c of candidates) {
    if (c.record.ref === record.ref) continue;
    const entry = byPerson.get(c.personId) ?? { excluded: false, provisional: true };
    if (!c.provisional) entry.provisional = false;
    byPerson.set(c.personId, entry);
    if (rejected(record.ref, c.record.ref)) {
      entry.excluded = true;
      continue;
    }
    const decision = decidePair(record, c.record, rules);
    if (decision.rule === 'national-id-conflict') entry.excluded = true;
    const best = entry.best?.decision;
    if (
      !best ||
      RANK[decision.outcome] > RANK[best.outcome] ||
      (decision.outcome === best.outcome && decision.score > best.score)
    ) {
      entry.best = { decision, ref: c.record.ref };
    }
  }

  const ranked = [...byPerson.entries()]
    .filter(([, e]) => !e.excluded && e.best && e.best.decision.outcome !== 'new')
    .map(([personId, e]) => ({ personId, provisional: e.provisional, ...e.best! }))
    .sort(
      (a, b) =>
        RANK[b.decision.outcome] - RANK[a.decision.outcome] ||
        b.decision.score - a.decision.score ||
        a.personId.localeCompare(b.personId),
    );
  const top = ranked[0];
  if (!top) return { outcome: 'new' };
  const links = ranked.filter((r) => r.decision.outcome === 'link');
  // A person made only of records waiting in review is not yet a person to compete with: when
  // exactly one established person qualifies, the record joins it (the review decides the rest).
  const established = links.filter((r) => !r.provisional);
  if (links.length > 1 && established.length === 1) {
    const only = established[0]!;
    return { outcome: 'link', personId: only.personId, candidateRef: only.ref, decision: only.decision };
  }
  if (links.length > 1) {
    return {
      outcome: 'review',
      personId: top.personId,
      candidateRef: top.ref,
      decision: top.decision,
      note: `matches ${links.length} persons`,
    };
  }
  return {
    outcome: top.decision.outcome,
    personId: top.personId,
    candidateRef: top.ref,
    decision: top.decision,
  };
}
