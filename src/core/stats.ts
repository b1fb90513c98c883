/** The standard normal CDF (Abramowitz & Stegun 7.1.26 for erf: absolute error below 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

export interface ProportionTest {
  /** Difference of the rates, b − a. */
  lift: number;
  /** Relative lift, (b − a) / a (undefined when a is 0). */
  relativeLift?: number;
  z: number;
  /** Two-sided. */
  pValue: number;
  /** 95% confidence interval of the difference (unpooled standard error). */
  ci95: [number, number];
}

/** Two-proportion z-test: are b's conversions out of its trials a different rate than a's? */
export function twoProportionTest(a: { trials: number; successes: number }, b: { trials: number; successes: number }): ProportionTest | undefined {
  if (a.trials === 0 || b.trials === 0) return undefined;
  const pa = a.successes / a.trials;
  const pb = b.successes / b.trials;
  const pooled = (a.successes + b.successes) / (a.trials + b.trials);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / a.trials + 1 / b.trials));
  const z = se === 0 ? 0 : (pb - pa) / se;
  const seDiff = Math.sqrt((pa * (1 - pa)) / a.trials + (pb * (1 - pb)) / b.trials);
  return {
    lift: pb - pa,
    ...(pa > 0 ? { relativeLift: (pb - pa) / pa } : {}),
    z,
    pValue: se === 0 ? 1 : 2 * (1 - normalCdf(Math.abs(z))),
    ci95: [pb - pa - 1.96 * seDiff, pb - pa + 1.96 * seDiff],
  };
}

/**
 * Area under the ROC curve: the probability that a random positive scores above a random
 * negative (ties count half), by ranks (Mann–Whitney U). Undefined without both classes.
 */
export function auc(scores: readonly number[], labels: readonly (0 | 1)[]): number | undefined {
  const order = scores.map((s, i) => [s, labels[i]!] as const).sort((x, y) => x[0] - y[0]);
  let pos = 0;
  let rankSum = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j < order.length && order[j]![0] === order[i]![0]) j++;
    const avgRank = (i + 1 + j) / 2; // ranks i+1..j share their mean
    for (let k = i; k < j; k++) {
      if (order[k]![1] === 1) {
        pos++;
        rankSum += avgRank;
      }
    }
    i = j;
  }
  const neg = order.length - pos;
  if (pos === 0 || neg === 0) return undefined;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}
