import { lockSpacesInOrder } from '../../db/advisory-locks.ts';
import type { Queryable } from '../../db/database.ts';
import { badRequest, fail } from '../../kernel/outcomes.ts';
import type { FhirModel } from '../fhir-model.ts';
import { findIds, findIdsMany, type VisibleIf } from '../search/index.ts';
import { ID_LOCK_SPACE } from './read.ts';

/**
 * Conditional interactions decide "does a match exist?" and then write. Two requests with the
 * same criteria must not both see "no match" — HAPI, Microsoft's server and Medplum have all
 * shipped duplicates here. A unique index cannot express the rule (many institutions' records
 * legitimately share a national ID), so the criteria themselves are serialised: a
 * transaction-scoped advisory lock on a hash of the normalised criteria, held until commit.
 */
export async function lockCriteria(
  q: Queryable,
  resourceType: string,
  criteria: [string, string][],
): Promise<void> {
  await q.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
    normaliseCriteria(resourceType, criteria),
  ]);
}

/**
 * The locks of several criteria (a transaction's conditional entries) in one statement: the same
 * keys as `lockCriteria`, taken in hash order, so two transactions sharing keys cannot deadlock
 * and an ORU's eight keys cost one round trip instead of eight. The same statement takes the id
 * locks of the `Type/id`s the transaction PUTs (`ID_LOCK_SPACE`, after the criteria, the order
 * in which a transaction took both before), so reading those ids needs no second look.
 */
export async function lockAllCriteria(
  q: Queryable,
  list: readonly { resourceType: string; criteria: [string, string][] }[],
  putIds: readonly string[] = [],
): Promise<void> {
  await lockSpacesInOrder(q, [
    { space: 0, names: list.map((c) => normaliseCriteria(c.resourceType, c.criteria)) },
    ...(putIds.length > 0 ? [{ space: ID_LOCK_SPACE, names: putIds }] : []),
  ]);
}

export function normaliseCriteria(resourceType: string, criteria: [string, string][]): string {
  const sorted = [...criteria].sort(([a, av], [b, bv]) =>
    a === b ? av.localeCompare(bv) : a.localeCompare(b),
  );
  return `${resourceType}?${sorted.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}`;
}

/** Parses `identifier=sys|123&active=true` (the part after `?`) into pairs. */
export function parseCriteria(query: string): [string, string][] {
  const params = new URLSearchParams(query);
  const pairs = [...params.entries()];
  if (pairs.length === 0) throw badRequest('Conditional criteria are empty', undefined, 'HIE-REPO-030');
  return pairs;
}

/** Ids matching the criteria (at most two: enough to tell none, one and many apart). */
export async function matchCriteria(
  q: Queryable,
  model: FhirModel,
  resourceType: string,
  criteria: [string, string][],
  visibleIf?: VisibleIf,
): Promise<string[]> {
  // A match the caller may not see counts as no match: answering "exists" (200 with the
  // resource, or 412) would reveal a record the policy hides.
  return findIds(q, model, resourceType, criteria, visibleIf ? { visibleIf } : {});
}

export const multipleMatches = (resourceType: string, criteria: [string, string][]) =>
  fail(412, {
    code: 'multiple-matches',
    diagnostics: `More than one ${resourceType} matches ${normaliseCriteria(resourceType, criteria)}`,
    hieCode: 'HIE-REPO-031',
  });

/** `matchCriteria` for several criteria in one statement, answers in the order asked. */
export async function matchAllCriteria(
  q: Queryable,
  model: FhirModel,
  list: readonly { resourceType: string; criteria: [string, string][] }[],
  visibleIf?: VisibleIf,
): Promise<string[][]> {
  return findIdsMany(
    q,
    model,
    list.map((c) => ({ resourceType: c.resourceType, params: c.criteria })),
    visibleIf ? { visibleIf } : {},
  );
}
