import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auc, normalCdf, twoProportionTest } from '../../src/core/stats.js';

test('normal CDF at known points', () => {
  assert.ok(Math.abs(normalCdf(0) - 0.5) < 1e-7);
  assert.ok(Math.abs(normalCdf(1.959964) - 0.975) < 1e-6);
  assert.ok(Math.abs(normalCdf(-1) - 0.158655) < 1e-6);
});

test('two-proportion test: a textbook case, no difference, an empty arm', () => {
  // 200/1000 vs 250/1000: z ≈ 2.68, p ≈ 0.0074.
  const t = twoProportionTest({ trials: 1000, successes: 200 }, { trials: 1000, successes: 250 })!;
  assert.ok(Math.abs(t.z - 2.6765) < 1e-3, String(t.z));
  assert.ok(Math.abs(t.pValue - 0.00744) < 2e-4, String(t.pValue));
  assert.ok(Math.abs(t.lift - 0.05) < 1e-12);
  assert.ok(Math.abs(t.relativeLift! - 0.25) < 1e-12);
  assert.ok(t.ci95[0] > 0 && t.ci95[1] > t.ci95[0]);
  assert.ok(Math.abs(twoProportionTest({ trials: 10, successes: 5 }, { trials: 10, successes: 5 })!.pValue - 1) < 1e-6);
  assert.equal(twoProportionTest({ trials: 0, successes: 0 }, { trials: 10, successes: 5 }), undefined);
});

test('AUC: perfect, inverted, random ties, one class only', () => {
  assert.equal(auc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]), 1);
  assert.equal(auc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]), 0);
  assert.equal(auc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1]), 0.5);
  assert.equal(auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75);
  assert.equal(auc([0.1, 0.2], [1, 1]), undefined);
});
