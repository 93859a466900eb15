import type { Queryable } from '../../db/database.ts';
import type { MatchRecord } from '../match/record.ts';
import { resolvePerson, type Resolution } from '../match/resolve-person.ts';
import type { MatchRules } from '../match/rules.ts';
import { candidatesByKeys, rejectedWith, type IdentityRecordRow } from './identity-store.ts';

/**
 * The matching step on the identity tables: the records sharing a blocking key, the pairs a
 * reviewer kept apart, and the person the rules choose (with how many records were compared). Run inside the caller's transaction,
 * after it locked the keys (the linker and the bulk evaluation path share it).
 */
export async function resolveInStore(
  c: Queryable,
  record: MatchRecord,
  keys: readonly string[],
  rules: MatchRules,
  /** The candidates, when the caller read them already (`recordAndCandidates`). */
  known?: IdentityRecordRow[],
): Promise<{ resolution: Resolution; candidates: number }> {
  const rows = known ?? (await candidatesByKeys(c, keys, record.ref));
  const rejected = await rejectedWith(
    c,
    record.ref,
    rows.map((r) => r.patientRef),
  );
  const resolution = resolvePerson(
    record,
    rows.map((r) => ({ record: r.match, personId: r.personId, provisional: r.state === 'provisional' })),
    rules,
    (_a, b) => rejected.has(b),
  );
  return { resolution, candidates: rows.length };
}
