import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { affinityOf, affinityScore, applyRules, blend, Blender, bucketOf, SOURCES, variantOf, type Candidate, type Ranked, type Source, type Strategy } from '../../src/core/recommend.js';
import type { Item } from '../../src/core/items.js';
import { addDecayed, decayedAt, rankOf } from '../../src/core/decay.js';

const item = (id: string, over: Partial<Item> = {}): Item => ({ id, categories: ['c'], tags: [], available: true, attributes: {}, ...over });

test('blend: each source is scaled to its best, weighted, summed; the reason is the largest part', () => {
  const ranked = blend(
    {
      cooccurrence: [{ item: 'a', score: 10, because: 'x' }, { item: 'b', score: 5, because: 'y' }],
      popular: [{ item: 'b', score: 1000 }, { item: 'c', score: 500 }],
      content: [{ item: 'z', score: 1 }],
    },
    { cooccurrence: 2, popular: 1 },
  );
  // a: 2·1 = 2; b: 2·0.5 + 1·1 = 2 (a tie between its parts: the first source keeps it); c: 0.5. Content has no weight: z is absent.
  assert.deepEqual(ranked.map((r) => [r.item, r.score, r.source, r.because ?? null]), [
    ['a', 2, 'cooccurrence', 'x'],
    ['b', 2, 'cooccurrence', 'y'],
    ['c', 0.5, 'popular', null],
  ]);
  assert.deepEqual(blend({ popular: [{ item: 'a', score: 0 }] }, { popular: 1 }), [], 'nothing scored above 0');
  const heavier = blend({ cooccurrence: [{ item: 'b', score: 1, because: 'y' }], popular: [{ item: 'b', score: 1 }] }, { cooccurrence: 1, popular: 3 });
  assert.deepEqual([heavier[0]!.source, heavier[0]!.because], ['popular', undefined], 'the larger part gives the reason');
});

/** The blend as first written (a record per item in a Map): the reference the reused blender must equal. */
function referenceBlend(sources: Partial<Record<Source, readonly Candidate[]>>, strategy: Strategy): Ranked[] {
  const total = new Map<string, Ranked & { best: number }>();
  for (const source of SOURCES) {
    const w = strategy[source] ?? 0;
    const list = sources[source];
    if (!w || !list?.length) continue;
    const top = Math.max(0, ...list.map((c) => c.score));
    if (!(top > 0)) continue;
    for (const c of list) {
      if (!(c.score > 0)) continue;
      const part = (w / top) * c.score;
      const t = total.get(c.item);
      if (!t) total.set(c.item, { item: c.item, score: part, best: part, source, because: c.because });
      else {
        t.score += part;
        if (part > t.best) Object.assign(t, { best: part, source, because: c.because });
      }
    }
  }
  return [...total.values()].map(({ item, score, source, because }) => ({ item, score, source, because })).sort((a, b) => b.score - a.score || (a.item < b.item ? -1 : 1));
}

test('blend: one blender reused over many blends (slots growing past their first size) gives what a fresh Map would', () => {
  const candidates = fc.array(fc.record({ item: fc.integer({ min: 0, max: 300 }).map((i) => `item-${i}`), score: fc.oneof(fc.double({ min: -1, max: 100, noNaN: true }), fc.constant(0)), because: fc.option(fc.constantFrom('x', 'y', 'z'), { nil: undefined }) }), { maxLength: 400 });
  const blends = fc.array(fc.record({ sources: fc.record(Object.fromEntries(SOURCES.map((s) => [s, candidates])) as Record<Source, typeof candidates>, { requiredKeys: [] }), strategy: fc.record(Object.fromEntries(SOURCES.map((s) => [s, fc.constantFrom(0, 0.5, 1, 3)])) as Record<Source, fc.Arbitrary<number>>, { requiredKeys: [] }) }), { minLength: 1, maxLength: 8 });
  fc.assert(
    fc.property(blends, (runs) => {
      const blender = new Blender();
      // Past the first 1,024 slots before the random blends.
      const wide = { popular: Array.from({ length: 1100 }, (_, i) => ({ item: `wide-${i}`, score: 1 + (i % 7) })) };
      assert.deepEqual(blender.blend(wide, { popular: 1 }), referenceBlend(wide, { popular: 1 }));
      for (const { sources, strategy } of runs) assert.deepEqual(blender.blend(sources, strategy), referenceBlend(sources, strategy));
    }),
    { numRuns: 60 },
  );
});

test('rules: exclusions, availability, category and price filters, diversity, no repeats, the limit', () => {
  const catalog = new Map<string, Item>([
    ['a', item('a', { categories: ['shoes'], price: 50 })],
    ['b', item('b', { categories: ['shoes'], price: 150 })],
    ['c', item('c', { categories: ['hats'], price: 20, available: false })],
    ['d', item('d', { categories: ['hats'], price: 30 })],
    ['e', item('e', { categories: ['shoes'], price: 60 })],
  ]);
  const ranked = ['a', 'b', 'c', 'd', 'a', 'e', 'missing'].map((id, i) => ({ item: id, score: 10 - i, source: 'popular' as const }));
  const base = { exclude: new Set<string>(), availableOnly: true, maxPerCategory: 0 };
  assert.deepEqual(applyRules(ranked, catalog, base, 10).map((r) => r.item), ['a', 'b', 'd', 'e'], 'unavailable, repeated and unknown items are out');
  assert.deepEqual(applyRules(ranked, catalog, { ...base, availableOnly: false }, 10).map((r) => r.item), ['a', 'b', 'c', 'd', 'e']);
  assert.deepEqual(applyRules(ranked, catalog, { ...base, exclude: new Set(['a']) }, 10).map((r) => r.item), ['b', 'd', 'e']);
  assert.deepEqual(applyRules(ranked, catalog, { ...base, maxPerCategory: 1 }, 10).map((r) => r.item), ['a', 'd']);
  assert.deepEqual(applyRules(ranked, catalog, { ...base, categories: ['shoes'], maxPrice: 100 }, 10).map((r) => r.item), ['a', 'e']);
  assert.deepEqual(applyRules(ranked, catalog, { ...base, minPrice: 55 }, 10).map((r) => r.item), ['b', 'e']);
  assert.deepEqual(applyRules(ranked, catalog, base, 2).map((r) => r.item), ['a', 'b']);
});

test('affinity: recent and bought items weigh more; categories, brands and price bands all count', () => {
  const taste = affinityOf([
    { item: item('1', { categories: ['shoes'], brand: 'Fleet', price: 80 }), purchased: false, rank: 0 },
    { item: item('2', { categories: ['shoes'], brand: 'Fleet', price: 90 }), purchased: true, rank: 0 },
    { item: item('3', { categories: ['hats'], brand: 'Knit', price: 20 }), purchased: false, rank: 5 },
  ]);
  assert.ok(Math.abs([...taste.categories.values()].reduce((a, b) => a + b) - 1) < 1e-12, 'shares sum to 1');
  assert.ok(taste.categories.get('shoes')! > 0.8);
  const shoe = affinityScore(item('x', { categories: ['shoes'], brand: 'Fleet', price: 70 }), taste);
  const hat = affinityScore(item('y', { categories: ['hats'], brand: 'Knit', price: 25 }), taste);
  const other = affinityScore(item('z', { categories: ['bags'] }), taste);
  assert.ok(shoe.score > hat.score && hat.score > other.score, `${shoe.score} > ${hat.score} > ${other.score}`);
  assert.equal(shoe.because, 'shoes');
  assert.equal(other.score, 0);
});

test('bucketing: stable per profile and experiment, independent across experiments, split by weight', () => {
  assert.equal(bucketOf('exp', 'p_1'), bucketOf('exp', 'p_1'));
  fc.assert(fc.property(fc.string(), fc.string(), (e, p) => {
    const b = bucketOf(e, p);
    return b >= 0 && b < 1 && b === bucketOf(e, p);
  }));
  const variants = [{ name: 'a', weight: 1 }, { name: 'b', weight: 3 }];
  const n = 20_000;
  let b = 0;
  let agree = 0;
  for (let i = 0; i < n; i++) {
    if (variantOf(variants, bucketOf('exp1', `p_${i}`)).name === 'b') b++;
    if ((bucketOf('exp1', `p_${i}`) < 0.5) === (bucketOf('exp2', `p_${i}`) < 0.5)) agree++;
  }
  // 3/4 ± 4 standard deviations (σ ≈ 0.003 at n = 20,000).
  assert.ok(Math.abs(b / n - 0.75) < 0.013, `share of b: ${b / n}`);
  assert.ok(Math.abs(agree / n - 0.5) < 0.015, `two experiments bucket independently: ${agree / n} agree`);
  assert.equal(variantOf(variants, 0).name, 'a');
  assert.equal(variantOf(variants, 0.9999).name, 'b');
});

test('decay: increments add up the same in any order; rank orders as the decayed score at any time', () => {
  const h = 1000;
  fc.assert(
    fc.property(fc.array(fc.record({ score: fc.double({ min: 0.1, max: 10, noNaN: true }), at: fc.integer({ min: 0, max: 5000 }) }), { minLength: 1, maxLength: 8 }), (xs) => {
      const fwd = xs.reduce((a, b) => addDecayed(a, b, h));
      const back = [...xs].reverse().reduce((a, b) => addDecayed(a, b, h));
      const direct = xs.reduce((a, x) => a + x.score * 2 ** ((x.at - 6000) / h), 0);
      return Math.abs(decayedAt(fwd, 6000, h) - direct) < 1e-9 * Math.max(1, direct) && Math.abs(decayedAt(back, 6000, h) - direct) < 1e-9 * Math.max(1, direct);
    }),
  );
  const old = { score: 8, at: 0 };
  const fresh = { score: 1, at: 2500 };
  assert.ok(rankOf(old, h) > rankOf(fresh, h) === decayedAt(old, 9000, h) > decayedAt(fresh, 9000, h));
});
