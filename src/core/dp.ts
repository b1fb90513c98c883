/**
 * Differential privacy for aggregate counts: the Laplace mechanism with suppression of small
 * cells. Pure: the caller gives the randomness (crypto in production, seeded in tests).
 */

/** A uniform number in (0, 1), never 0 or 1. */
export type Uniform = () => number;

/** One draw from Laplace(0, scale), by inverting its CDF. */
export function laplace(scale: number, uniform: Uniform): number {
  const u = uniform() - 0.5;
  return -scale * Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
}

export interface ReleaseOptions {
  /** The privacy cost of this release. */
  epsilon: number;
  /** How much one person can change the counts, summed over every cell (L1). */
  sensitivity: number;
  /** Cells whose noisy count falls below this are withheld. */
  minGroupSize: number;
}

export type Released<K> = K & ({ count: number; suppressed?: never } | { count?: never; suppressed: true });

/**
 * Each cell's count plus Laplace noise of scale sensitivity / epsilon, rounded and never
 * negative; a cell whose noisy count is below the minimum group size is withheld. The noisy
 * count decides, not the true one, so withholding reveals nothing the noise does not cover.
 * Rounding and clamping are post-processing: they cost no privacy.
 */
export function releaseCounts<K extends object>(cells: readonly (K & { count: number })[], opts: ReleaseOptions, uniform: Uniform): Released<K>[] {
  if (!(opts.epsilon > 0)) throw new RangeError('epsilon must be positive');
  const scale = opts.sensitivity / opts.epsilon;
  return cells.map(({ count, ...key }) => {
    const noisy = Math.max(0, Math.round(count + laplace(scale, uniform)));
    return (noisy < opts.minGroupSize ? { ...key, suppressed: true } : { ...key, count: noisy }) as Released<K>;
  });
}
