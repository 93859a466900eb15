import type { Queryable } from '../db/database.ts';
import { canonicalJson } from './canonical-json.ts';
import { GENESIS_HASH, chainHash } from './chain-hash.ts';
import { readChainHead, type ChainHead } from './chain-head.ts';

export type ChainProblemKind =
  | 'gap' // a sequence number is missing: a deleted row
  | 'edited' // the stored text does not give the stored hash, or is not its own canonical form
  | 'broken-link' // prev_hash is not the previous row's hash (a row replaced with a recomputed hash)
  | 'truncated' // the head file names a sequence the table no longer reaches
  | 'head-mismatch'; // the row at the head's sequence has another hash: rewritten from there back

export interface ChainProblem {
  kind: ChainProblemKind;
  /** The first sequence number that cannot be trusted. */
  sequence: number;
  message: string;
}

export interface ChainVerification {
  ok: boolean;
  /** Rows read. */
  events: number;
  /** Highest sequence number in the table (0 when empty). */
  lastSequence: number;
  head: ChainHead | undefined;
  /** The first problem found, in sequence order; undefined when the chain holds. */
  problem?: ChainProblem;
}

/** Rows read per query: the walk holds one page at a time, whatever the trail's length. */
const PAGE = 5000;

/**
 * Walks the chain from sequence 1: every number present, each `prev_hash` the previous row's
 * hash, each hash recomputed from the stored text, and each text exactly its own RFC 8785 form
 * (an edit that kept valid JSON but changed spacing or order is an edit too). Then compares the
 * head written outside the database: the table must reach its sequence with the same hash, which
 * catches a cut tail and a rewrite that recomputed every later hash. The append-only trigger is
 * not trusted: the checks hold with it disabled.
 */
export async function verifyAuditChain(db: Queryable, headFile: string): Promise<ChainVerification> {
  const head = await readChainHead(headFile);
  let expectedSeq = 1;
  let previous = GENESIS_HASH;
  let events = 0;
  const hashAt = new Map<number, string>();
  const fail = (problem: ChainProblem): ChainVerification => ({
    ok: false,
    events,
    lastSequence: expectedSeq - 1,
    head,
    problem,
  });
  for (;;) {
    const { rows } = await db.query<{ seq: string; event: string; prev_hash: string; hash: string }>(
      'SELECT seq, event, prev_hash, hash FROM audit_chain WHERE seq >= $1 ORDER BY seq LIMIT $2',
      [expectedSeq, PAGE],
    );
    for (const row of rows) {
      const seq = Number(row.seq);
      events++;
      if (seq !== expectedSeq) {
        return fail({
          kind: 'gap',
          sequence: expectedSeq,
          message: `event ${expectedSeq} is missing (the next present is ${seq})`,
        });
      }
      if (row.prev_hash !== previous) {
        // Either side may be the forged one (a row re-hashed after its edit breaks the next
        // link), so the earlier event is the first that cannot be trusted.
        return fail({
          kind: 'broken-link',
          sequence: seq - 1,
          message: `event ${seq} does not follow event ${seq - 1} (prev_hash differs): one of them was rewritten`,
        });
      }
      if (!isOwnCanonicalForm(row.event) || chainHash(previous, row.event) !== row.hash) {
        return fail({
          kind: 'edited',
          sequence: seq,
          message: `event ${seq} was changed after it was written`,
        });
      }
      if (head && seq === head.sequence) hashAt.set(seq, row.hash);
      previous = row.hash;
      expectedSeq++;
    }
    if (rows.length < PAGE) break;
  }
  const lastSequence = expectedSeq - 1;
  if (head && head.sequence > lastSequence) {
    return fail({
      kind: 'truncated',
      sequence: lastSequence + 1,
      message: `the head file names event ${head.sequence}, the table ends at ${lastSequence}`,
    });
  }
  if (head && head.sequence > 0 && hashAt.get(head.sequence) !== head.hash) {
    return fail({
      kind: 'head-mismatch',
      sequence: head.sequence,
      message: `event ${head.sequence} has another hash than the head file records: the chain was rewritten up to it`,
    });
  }
  return { ok: true, events, lastSequence, head };
}

function isOwnCanonicalForm(text: string): boolean {
  try {
    return canonicalJson(JSON.parse(text)) === text;
  } catch {
    return false;
  }
}
