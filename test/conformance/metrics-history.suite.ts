import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetricsHistory } from '../../src/ports/metrics-history.js';

/** What every MetricsHistory adapter must do. `make` returns a fresh, empty one. */
export function metricsHistoryConformance(name: string, make: () => Promise<MetricsHistory>) {
  test(`${name}: points come back oldest first from a time, the newest ones when over the limit; prune drops the old`, async () => {
    const h = await make();
    try {
      assert.deepEqual(await h.since(0, 10), []);
      for (const at of [3000, 1000, 2000, 4000]) await h.append({ at, values: { accepted_per_s: at / 1000, 'rejected_per_s:type': 0.5 } });
      assert.deepEqual((await h.since(0, 10)).map((p) => p.at), [1000, 2000, 3000, 4000]);
      assert.deepEqual(await h.since(2000, 10), [
        { at: 2000, values: { accepted_per_s: 2, 'rejected_per_s:type': 0.5 } },
        { at: 3000, values: { accepted_per_s: 3, 'rejected_per_s:type': 0.5 } },
        { at: 4000, values: { accepted_per_s: 4, 'rejected_per_s:type': 0.5 } },
      ]);
      assert.deepEqual((await h.since(0, 2)).map((p) => p.at), [3000, 4000], 'the newest within the limit');
      assert.equal(await h.prune(2500), 2);
      assert.deepEqual((await h.since(0, 10)).map((p) => p.at), [3000, 4000]);
      assert.equal(await h.prune(2500), 0);
    } finally {
      await h.close();
    }
  });
}
