import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addDecayed, decayedAt } from '../../src/core/decay.js';
import type { Item } from '../../src/core/items.js';
import { SignalPositionsMoved, type HalfLives, type ItemStore } from '../../src/ports/item-store.js';

const item = (id: string, over: Partial<Item> = {}): Item => ({ id, categories: ['shoes'], tags: [], available: true, attributes: {}, ...over });
const DAY = 86_400_000;
const H: HalfLives = { popular: 7 * DAY, trending: DAY, view: 30 * DAY, purchase: 30 * DAY };
const T0 = Date.parse('2026-11-01T00:00:00Z');

/** What every ItemStore adapter must do. `make` returns a fresh, empty one; `second`, another process's view of it. */
export function itemStoreConformance(name: string, make: () => Promise<ItemStore>, second: (first: ItemStore) => Promise<ItemStore>) {
  test(`${name}: items are upserted, read, listed by cursor, deleted; changes follow them in order`, async () => {
    const s = await make();
    try {
      await s.upsertItems([item('b', { title: 'Boot', price: 80, attributes: { colour: 'red' } }), item('a'), item('c')]);
      assert.equal(await s.countItems(), 3);
      const got = await s.getItems(['b', 'zzz']);
      assert.deepEqual([...got.keys()], ['b']);
      assert.deepEqual(got.get('b'), item('b', { title: 'Boot', price: 80, attributes: { colour: 'red' } }));
      assert.deepEqual((await s.listItems(undefined, 2)).map((i) => i.id), ['a', 'b']);
      assert.deepEqual((await s.listItems('b', 10)).map((i) => i.id), ['c']);

      const first = await s.changes({ seq: 0, label: 0 }, 100);
      assert.deepEqual(first.map((c) => c.id).sort(), ['a', 'b', 'c']);
      const labels = new Map(first.map((c) => [c.id, c.label]));
      assert.equal(new Set(labels.values()).size, 3, 'one label per item');
      const seen = { seq: first[2]!.seq, label: first[2]!.label };
      // One call's items share a seq: reading them a page at a time misses none.
      const paged = [...(await s.changes({ seq: 0, label: 0 }, 2))];
      paged.push(...(await s.changes({ seq: paged[1]!.seq, label: paged[1]!.label }, 2)));
      assert.deepEqual(paged.map((c) => c.id).sort(), ['a', 'b', 'c'], 'paged by (seq, label)');

      await s.upsertItems([item('a', { title: 'Again', available: false })]);
      assert.equal(await s.deleteItems(['c', 'nope']), 1);
      assert.equal(await s.deleteItems(['c']), 0, 'already gone');
      const next = await s.changes(seen, 100);
      assert.deepEqual(next.map((c) => [c.id, c.item?.title ?? null, c.item?.available ?? null]), [['a', 'Again', false], ['c', null, null]]);
      assert.ok(next[0]!.seq < next[1]!.seq, 'in the order they happened');
      assert.equal(next[0]!.label, labels.get('a'), 'a label never changes');
      assert.deepEqual(await s.changes({ seq: next[1]!.seq, label: next[1]!.label }, 100), []);
      assert.equal(await s.countItems(), 2);
      assert.equal((await s.getItems(['c'])).size, 0);

      // A deleted item that comes back keeps its label: the index replaces its vector.
      await s.upsertItems([item('c')]);
      const back = await s.changes({ seq: next[1]!.seq, label: next[1]!.label }, 100);
      assert.deepEqual(back.map((c) => [c.id, c.label]), [['c', labels.get('c')]]);

      const other = await second(s);
      try {
        assert.equal(await other.countItems(), 3, 'another process sees the catalog');
      } finally {
        await other.close();
      }
    } finally {
      await s.close();
    }
  });

  test(`${name}: signals add up with decay in any order, rank by decayed score, and commit with the positions`, async () => {
    const s = await make();
    try {
      assert.equal(await s.signalPositions(), undefined);
      // x: one interaction two weeks ago; y: one now; z: three a week ago. Sent out of time order, in two batches.
      await s.applySignals(
        {
          scores: [
            { signal: 'popular', item: 'z', score: 1, at: T0 - 7 * DAY },
            { signal: 'popular', item: 'y', score: 1, at: T0 },
            { signal: 'popular', item: 'z', score: 1, at: T0 - 7 * DAY },
          ],
          pairs: [
            { kind: 'view', a: 'x', b: 'y', score: 1, at: T0 },
            { kind: 'view', a: 'x', b: 'z', score: 1, at: T0 - 30 * DAY },
            { kind: 'view', a: 'x', b: 'z', score: 1, at: T0 - 30 * DAY },
            { kind: 'view', a: 'x', b: 'z', score: 1, at: T0 - 30 * DAY },
            { kind: 'purchase', a: 'x', b: 'w', score: 1, at: T0 },
          ],
          positions: [5, 7],
        },
        H,
      );
      const second = { scores: [{ signal: 'popular' as const, item: 'x', score: 1, at: T0 - 14 * DAY }, { signal: 'popular' as const, item: 'z', score: 1, at: T0 - 7 * DAY }], pairs: [] };
      // Read from positions another builder has since moved past: nothing is applied.
      await assert.rejects(s.applySignals({ ...second, positions: [9, 7] }, H), SignalPositionsMoved, 'from nowhere, but positions are stored');
      await assert.rejects(s.applySignals({ ...second, from: [1, 1], positions: [9, 7] }, H), SignalPositionsMoved);
      await s.applySignals({ ...second, from: [5, 7], positions: [9, 7] }, H);
      assert.deepEqual(await s.signalPositions(), [9, 7]);

      const top = await s.topItems('popular', 10);
      assert.deepEqual(top.map((t) => t.item), ['z', 'y', 'x'], '3 × ½ > 1 > ¼');
      const z = top[0]!;
      assert.ok(Math.abs(decayedAt(z, T0, H.popular) - 1.5) < 1e-9, `z decays to 1.5 now, got ${decayedAt(z, T0, H.popular)}`);
      assert.deepEqual((await s.topItems('popular', 1)).map((t) => t.item), ['z']);
      assert.deepEqual(await s.topItems('trending', 10), []);

      const n = await s.neighbors(['x', 'unknown'], 'view', 10);
      assert.deepEqual(n.get('x')!.map((p) => p.item), ['z', 'y'], '3 × ½ (a month ago) > 1 (now)');
      assert.deepEqual(n.get('unknown'), []);
      assert.deepEqual((await s.neighbors(['x'], 'view', 1)).get('x')!.map((p) => p.item), ['z']);
      assert.deepEqual((await s.neighbors(['x'], 'purchase', 10)).get('x')!.map((p) => p.item), ['w']);

      // The same increments in another order and grouping give the same scores.
      const expected = addDecayed(addDecayed({ score: 1, at: T0 - 30 * DAY }, { score: 1, at: T0 - 30 * DAY }, H.view), { score: 1, at: T0 - 30 * DAY }, H.view);
      const stored = n.get('x')!.find((p) => p.item === 'z')!;
      assert.ok(Math.abs(decayedAt(stored, T0, H.view) - decayedAt(expected, T0, H.view)) < 1e-9);

      await s.resetSignals();
      assert.equal(await s.signalPositions(), undefined);
      assert.deepEqual(await s.topItems('popular', 10), []);
      assert.deepEqual((await s.neighbors(['x'], 'view', 10)).get('x'), []);
    } finally {
      await s.close();
    }
  });
}
