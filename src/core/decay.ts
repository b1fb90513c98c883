/**
 * Exponentially decayed scores, kept as (score, at): the score as it stood at time `at`. Adding
 * an increment made at any time, in any order, gives the same result (up to rounding), so a
 * signal does not depend on the order events arrive in.
 *
 * `rank` is log2 of the score referred back to time 0: for every reader's `now`, ordering by the
 * decayed score equals ordering by rank, so a store can index it and read the top N at once.
 */
export interface Decayed {
  score: number;
  at: number;
}

/** The score at `now`. */
export function decayedAt(d: Decayed, now: number, halfLifeMs: number): number {
  return d.score * 2 ** ((d.at - now) / halfLifeMs);
}

/** a + b, as of the later of their times. */
export function addDecayed(a: Decayed, b: Decayed, halfLifeMs: number): Decayed {
  const at = Math.max(a.at, b.at);
  return { score: a.score * 2 ** ((a.at - at) / halfLifeMs) + b.score * 2 ** ((b.at - at) / halfLifeMs), at };
}

export function rankOf(d: Decayed, halfLifeMs: number): number {
  return Math.log2(d.score) + d.at / halfLifeMs;
}
