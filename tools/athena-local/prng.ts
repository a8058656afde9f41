/**
 * Deterministic randomness: a seeded PRNG for fault probabilities and live queries, and a stateless
 * integer hash so the generator can compute any table or execution from its index alone.
 */

/** 32-bit integer hash of a list of integers (murmur3-style finalizer); stable across runs. */
export function hash32(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    // Fold in both halves so indices above 2^32 still change the result.
    h = Math.imul(h ^ (p >>> 0), 0x01000193);
    h = Math.imul(h ^ Math.floor(p / 4294967296), 0x01000193);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** Uniform in [0, 1) from a hash of the parts. */
export function unit(...parts: number[]): number {
  return hash32(...parts) / 4294967296;
}

/** Mulberry32: small, fast, good enough for simulation. */
export class Prng {
  private state: number;
  constructor(seed: number) {
    this.state = hash32(seed) || 1;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
}

/** Fisher-Yates with a PRNG seeded from `seed`; returns a new array. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = items.slice();
  const rng = new Prng(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const tmp = out[i] as T;
    out[i] = out[j] as T;
    out[j] = tmp;
  }
  return out;
}

/** A UUID-shaped id whose last group carries `index`, so a generated execution is found by id in O(1). */
export function indexedUuid(seed: number, index: number): string {
  const a = hash32(seed, index, 1).toString(16).padStart(8, '0');
  const b = hash32(seed, index, 2).toString(16).padStart(8, '0');
  const variant = ((hash32(seed, index, 3) & 0x3fff) | 0x8000).toString(16);
  const tail = index.toString(16).padStart(12, '0');
  return `${a}-${b.slice(0, 4)}-4${b.slice(5, 8)}-${variant}-${tail}`;
}

/** The index encoded by `indexedUuid`, or -1 when `id` is not one of ours for this seed. */
export function indexFromUuid(seed: number, id: string): number {
  const m = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-([0-9a-f]{12})$/.exec(id);
  if (!m) return -1;
  const index = parseInt(m[1] as string, 16);
  return indexedUuid(seed, index) === id ? index : -1;
}
