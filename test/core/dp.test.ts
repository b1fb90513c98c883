import { test } from 'node:test';
import assert from 'node:assert/strict';
import { laplace, releaseCounts, type Uniform } from '../../src/core/dp.js';
import { mulberry32 } from '../../src/core/minhash.js';

/** A seeded uniform in (0, 1), never 0 (the Laplace draw takes a log), so the statistics below are the same at every run. */
function seeded(seed: number): Uniform {
  const next = mulberry32(seed);
  return () => (next() * 4294967296 + 0.5) / 4294967297;
}

test('laplace draws have mean 0, mean absolute value b and variance 2b²', () => {
  const u = seeded(7);
  const b = 3;
  const n = 200_000;
  let sum = 0;
  let abs = 0;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const x = laplace(b, u);
    sum += x;
    abs += Math.abs(x);
    sq += x * x;
  }
  assert.ok(Math.abs(sum / n) < 0.05 * b, `mean ${sum / n}`);
  assert.ok(Math.abs(abs / n - b) < 0.02 * b, `mean |x| ${abs / n}`);
  assert.ok(Math.abs(sq / n - 2 * b * b) < 0.05 * 2 * b * b, `variance ${sq / n}`);
});

test('released counts: neighbouring counts give output probabilities within e^epsilon of each other', () => {
  // The definition itself, measured: counts 100 and 101 (one person more), epsilon 0.5.
  const epsilon = 0.5;
  const runs = 200_000;
  const histogram = (count: number, seed: number) => {
    const u = seeded(seed);
    const h = new Map<number, number>();
    for (let i = 0; i < runs; i++) {
      const [c] = releaseCounts([{ count }], { epsilon, sensitivity: 1, minGroupSize: 0 }, u);
      h.set(c!.count!, (h.get(c!.count!) ?? 0) + 1);
    }
    return h;
  };
  const a = histogram(100, 1);
  const b = histogram(101, 2);
  let compared = 0;
  for (const [v, na] of a) {
    const nb = b.get(v) ?? 0;
    if (na < 2000 || nb < 2000) continue; // enough draws for the ratio to mean something
    compared++;
    const ratio = Math.max(na / nb, nb / na);
    assert.ok(ratio <= Math.exp(epsilon) * 1.1, `output ${v}: ${na} vs ${nb}`);
  }
  assert.ok(compared >= 5, `compared ${compared} outputs`);
});

test('released counts are never negative, near the truth at scale sensitivity/epsilon, and withheld below the minimum group size', () => {
  const u = seeded(3);
  const cells = [
    { k: 'big', count: 10_000 },
    { k: 'small', count: 2 },
    { k: 'zero', count: 0 },
  ];
  let bigError = 0;
  let smallShown = 0;
  for (let i = 0; i < 2000; i++) {
    const [big, small, zero] = releaseCounts(cells, { epsilon: 1, sensitivity: 4, minGroupSize: 20 }, u);
    assert.equal(big!.k, 'big');
    assert.ok(big!.count! >= 0);
    bigError += Math.abs(big!.count! - 10_000);
    if (!small!.suppressed) smallShown++;
    assert.ok(zero!.suppressed || zero!.count! >= 20);
  }
  assert.ok(Math.abs(bigError / 2000 - 4) < 0.5, `mean error ${bigError / 2000} (scale 4)`);
  // 2 + noise ≥ 20 needs noise ≥ 18 at scale 4: e^-4.5 / 2 ≈ 0.6% of the time.
  assert.ok(smallShown < 40, `small cell shown ${smallShown} times of 2000`);
  assert.throws(() => releaseCounts(cells, { epsilon: 0, sensitivity: 1, minGroupSize: 1 }, u), RangeError);
});

test('the threshold is applied to the noisy count: a cell exactly at the minimum is shown when its noise rounds to ≥ 0 (1 − e^-0.5/2 ≈ 70% of the time)', () => {
  const u = seeded(11);
  let shown = 0;
  for (let i = 0; i < 10_000; i++) if (!releaseCounts([{ count: 50 }], { epsilon: 1, sensitivity: 1, minGroupSize: 50 }, u)[0]!.suppressed) shown++;
  assert.ok(shown > 6_600 && shown < 7_300, `shown ${shown} of 10000`);
});
