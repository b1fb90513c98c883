import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HashingEmbedder } from '../../src/adapters/hashing/embedder.js';
import { BASELINES, evaluateRecommendations } from '../../src/personalize/evaluate.js';
import { SHOP_SIGNAL_SETTINGS, syntheticShop } from '../../src/personalize/synthetic.js';

const SETTINGS = SHOP_SIGNAL_SETTINGS;

test('the generated shop is the same for the same seed, and another for another', () => {
  const a = syntheticShop({ users: 50, seed: 7 });
  const b = syntheticShop({ users: 50, seed: 7 });
  const c = syntheticShop({ users: 50, seed: 8 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.events.map((e) => e.properties), c.events.map((e) => e.properties));
  assert.equal(a.items.length, 200);
  assert.ok(a.events.every((e, i) => i === 0 || a.events[i - 1]!.timestamp <= e.timestamp), 'in time order');
});

test('leave-last-out: the personalized strategies beat popularity on HR@10 and NDCG@10', { timeout: 120_000 }, async () => {
  const shop = syntheticShop({ users: 400, seed: 42 });
  const blend = { cooccurrence: 3, content: 1, affinity: 1, popular: 1 };
  const r = await evaluateRecommendations(shop.events, shop.items, SETTINGS, { ...BASELINES, blend }, { embedder: new HashingEmbedder(256) });
  assert.equal(r.k, 10);
  assert.ok(r.people > 150, `${r.people} people evaluated`);
  const by = Object.fromEntries(r.results.map((x) => [x.name, x]));
  for (const x of r.results) {
    assert.ok(x.hitRate >= 0 && x.hitRate <= 1 && x.ndcg >= 0 && x.ndcg <= x.hitRate, `${x.name}: NDCG is at most HR`);
  }
  for (const name of ['cooccurrence', 'content', 'affinity', 'blend']) {
    assert.ok(by[name]!.hitRate > by.popular!.hitRate, `${name} HR ${by[name]!.hitRate} > popular ${by.popular!.hitRate}`);
    assert.ok(by[name]!.ndcg > by.popular!.ndcg, `${name} NDCG ${by[name]!.ndcg} > popular ${by.popular!.ndcg}`);
  }
  // The companion structure is learned from other people's sequences: co-occurrence wins by far.
  assert.ok(by.cooccurrence!.ndcg > 2 * by.popular!.ndcg);
  const five = await evaluateRecommendations(shop.events, shop.items, SETTINGS, { popular: { popular: 1 } }, { embedder: new HashingEmbedder(256), k: 5, maxPeople: 50 });
  assert.equal(five.k, 5);
  assert.equal(five.people, 50);
});
