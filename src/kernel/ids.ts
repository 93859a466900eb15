import { randomBytes } from 'node:crypto';

/**
 * UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then random bits. Time-ordered ids keep
 * B-tree inserts at the right edge of the index instead of scattering them (write
 * amplification), and are made here rather than by `uuidv7()`, which only PostgreSQL 18 has.
 * Within one millisecond a counter in the random part keeps ids from one process increasing.
 */
let lastMs = 0;
let seq = 0;

// Random bytes are drawn from the system a few kilobytes at a time: one call per id cost more
// than the rest of making it (a mapped message takes a dozen ids).
const POOL_IDS = 256;
let pool = Buffer.alloc(0);
let poolAt = 0;

function freshBytes(): Buffer {
  if (poolAt >= pool.length) {
    pool = randomBytes(16 * POOL_IDS);
    poolAt = 0;
  }
  // A copy: the caller writes the time into it, and the pool's bytes are used once only.
  const bytes = Buffer.from(pool.subarray(poolAt, poolAt + 16));
  poolAt += 16;
  return bytes;
}

export function uuidv7(now: number = Date.now()): string {
  const bytes = freshBytes();
  if (now <= lastMs) {
    now = lastMs;
    seq = (seq + 1) & 0xfff;
    if (seq === 0) now = ++lastMs; // 4096 ids in one millisecond: borrow the next one
  } else {
    lastMs = now;
    seq = bytes.readUInt16BE(6) & 0x7ff; // random start, leaving room to count up
  }
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = 0x70 | (seq >> 8);
  bytes[7] = seq & 0xff;
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** FHIR `id`: 1–64 of `[A-Za-z0-9\-\.]`. */
export const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

export function isFhirId(value: string): boolean {
  return FHIR_ID.test(value);
}
