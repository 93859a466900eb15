import type { Queryable } from '../db/database.ts';
import type { SummaryOperationDeps } from '../summary/index.ts';
import type { DecisionCache } from './decision-cache.ts';
import { decidePerson } from './person-decision.ts';
import { restrictedAccess } from './guard-operations.ts';

/**
 * The policy of the person-wide reads ($summary, $everything): the caller must be able to open
 * the person (care relationship or break-the-glass, consent) — else 403, the same for an unknown
 * record — and then sees the person's resources less those withheld for sensitivity or by the
 * person's consent for their source. When the operation passes the record's state
 * (`recordStateOf`), a clinician's decision may come from `decisions`.
 */
export function personReadPolicy(
  db: Queryable,
  decisions?: DecisionCache,
): NonNullable<SummaryOperationDeps['policy']> {
  return async (req, person, requestedId, recordState) => {
    const access = restrictedAccess(req);
    if (!access) return {};
    const what = `Patient/${requestedId}`;
    if (!person?.golden?.id) throw access.refusal(what);
    access.notePerson(`Patient/${String(person.golden.id)}`);
    const records = { goldenId: String(person.golden.id), recordIds: person.sourceIds };
    const decide = () => decidePerson(db, access, records);
    const decision =
      decisions?.enabled && recordState !== undefined && access.caller.kind === 'clinician'
        ? await decisions.decision(access.caller, recordState, decide)
        : await decide();
    if (!decision.allowed) throw access.refusal(what);
    if (decision.byGrant) access.usedBreakGlass();
    return {
      visible: (resources) => resources.filter(decision.visible),
      ...(access.caller.institution ? { institution: access.caller.institution } : {}),
    };
  };
}
