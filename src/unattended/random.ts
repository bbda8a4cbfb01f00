/**
 * Seeded randomness for the monkey: `--seed N` makes every coin flip and every pick reproducible
 * (a test, or a post-mortem of "why did it pick that?"). Without a seed the seed is random, and
 * printed, so any session can be replayed.
 */

/** A source of uniform numbers in [0, 1), like Math.random. */
export type Random = () => number

/**
 * mulberry32: a small, fast 32-bit generator with a full 2^32 period; plenty for coin flips and
 * picks, and simple enough that its sequence is stable across Node versions (unlike Math.random).
 */
export function mulberry32(seed: number): Random {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A fresh 32-bit seed from another source (Math.random by default), for sessions without --seed. */
export function randomSeed(source: Random = Math.random): number {
  return Math.floor(source() * 4294967296) >>> 0
}

/** One coin flip: heads (true) with `probability`. Always consumes exactly one number. */
export function flipCoin(random: Random, probability: number): { heads: boolean; roll: number } {
  const roll = random()
  return { heads: roll < probability, roll }
}

/** A uniformly chosen element; undefined for an empty list (consumes no number then). */
export function pickOne<T>(random: Random, items: readonly T[]): T | undefined {
  if (items.length === 0) return undefined
  return items[Math.min(items.length - 1, Math.floor(random() * items.length))]
}
