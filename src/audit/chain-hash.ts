import { createHash } from 'node:crypto';

/** The `prev_hash` of the first event: nothing came before it. */
export const GENESIS_HASH = '0'.repeat(64);

/** hash = SHA-256(previous hash (lowercase hex) + canonical JSON text), both as UTF-8, in lowercase hex. */
export function chainHash(previousHash: string, canonicalText: string): string {
  return createHash('sha256').update(previousHash, 'utf8').update(canonicalText, 'utf8').digest('hex');
}
