/**
 * Seeded randomness for the demo county. Every generated value comes from a stream named by
 * keys (the seed first, then what the stream is for), so that one part's draws never shift
 * another's: the same keys always give the same stream, whatever was generated before.
 * Nothing here reads the clock or `Math.random()`.
 */

export interface Rng {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [minIncl, maxIncl]. */
  int(minIncl: number, maxIncl: number): number;
  pick<T>(items: readonly T[]): T;
  weighted<T>(items: readonly { value: T; weight: number }[]): T;
  /** True with probability `p`. */
  chance(p: number): boolean;
}

/**
 * Four 32-bit words from the keys: a multiply-xorshift hash run four times with different
 * starting constants, each word finished by a full avalanche, so that keys differing in one
 * character give unrelated streams. The separator keeps `('ab','c')` apart from `('a','bc')`.
 */
export function hashKeys(keys: readonly string[]): [number, number, number, number] {
  const text = keys.join('\u001f');
  return [hashLane(text, 0), hashLane(text, 1), hashLane(text, 2), hashLane(text, 3)];
}

const LANE_STARTS = [0x9e3779b9, 0x243f6a88, 0xb7e15162, 0x3c6ef372];

function hashLane(text: string, lane: number): number {
  let h = LANE_STARTS[lane]! ^ text.length;
  for (let i = 0; i < text.length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), 0x5bd1e995);
    h ^= h >>> 15;
  }
  return avalanche(h + lane) >>> 0;
}

/** A 32-bit unsigned hash of the keys (for choices that need no whole stream). */
export function hash32(...keys: string[]): number {
  return hashLane(keys.join('\u001f'), 0);
}

function avalanche(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/**
 * The "small fast counter" generator (SFC32): 128 bits of state, passes the usual statistical
 * batteries, and costs a few integer operations per draw — a million residents need tens of
 * millions of draws.
 */
class Sfc32 implements Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: readonly [number, number, number, number]) {
    [this.a, this.b, this.c, this.d] = seed;
    // Mix the hash words into the state before the first value is used.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  private nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  next(): number {
    return this.nextUint32() / 4294967296;
  }

  int(minIncl: number, maxIncl: number): number {
    if (maxIncl < minIncl) throw new Error(`empty range ${minIncl}..${maxIncl}`);
    return minIncl + Math.floor(this.next() * (maxIncl - minIncl + 1));
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  weighted<T>(items: readonly { value: T; weight: number }[]): T {
    let total = 0;
    for (const item of items) total += item.weight;
    if (!(total > 0)) throw new Error('weighted pick needs a positive total weight');
    let r = this.next() * total;
    for (const item of items) {
      r -= item.weight;
      if (r < 0) return item.value;
    }
    return items[items.length - 1]!.value; // rounding at the very top of the range
  }

  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** A random stream named by its keys: same keys → same stream. */
export function seededRandom(...keys: string[]): Rng {
  return new Sfc32(hashKeys(keys));
}

/**
 * A bijection of [0, modulus) (modulus a power of ten, at most 10^12), keyed: a four-round
 * Feistel network on the two halves of the digits (odd digit counts walk the cycle until the
 * value falls back in range). Numbers built from it (phones, insurance numbers, MRNs) are
 * unique per index without keeping a set of those already handed out, and neighbouring indexes
 * get unrelated numbers.
 */
export function permuteIndex(index: number, modulus: number, ...keys: string[]): number {
  const digits = Math.round(Math.log10(modulus));
  if (10 ** digits !== modulus || digits < 2 || digits > 12) {
    throw new Error('permuteIndex: modulus must be a power of ten from 10^2 to 10^12');
  }
  const half = 10 ** Math.ceil(digits / 2);
  const roundKeys = cachedHash(keys);
  let x = index % modulus;
  do x = feistel(x, half, roundKeys);
  while (x >= modulus);
  return x;
}

function feistel(x: number, half: number, roundKeys: readonly number[]): number {
  let left = Math.floor(x / half);
  let right = x % half;
  for (const key of roundKeys) {
    const f = (avalanche(right ^ key) >>> 0) % half;
    [left, right] = [right, (left + f) % half];
  }
  return left * half + right;
}

/** Round keys per key list (a handful of lists: one per purpose and institution). */
const roundKeyCache = new Map<string, readonly number[]>();

function cachedHash(keys: readonly string[]): readonly number[] {
  const id = keys.join('\u001f');
  let hit = roundKeyCache.get(id);
  if (!hit) {
    if (roundKeyCache.size > 10_000) roundKeyCache.clear();
    hit = hashKeys(keys);
    roundKeyCache.set(id, hit);
  }
  return hit;
}
