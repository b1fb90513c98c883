import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { SqliteItemStore } from '../../src/adapters/sqlite/item-store.js';
import { SignalBuilder } from '../../src/personalize/signal-builder.js';
import { decayedAt } from '../../src/core/decay.js';
import { appendAudienceEvents, appendEnvelopes } from '../../src/process/emit.js';
import { SqliteEventLog } from '../../src/adapters/sqlite/event-log.js';
import { tempDir } from '../helpers.js';
import { SHOP_SIGNAL_SETTINGS } from '../../src/personalize/synthetic.js';

const { dir, cleanup } = tempDir();
after(cleanup);

const SETTINGS = SHOP_SIGNAL_SETTINGS;
const T = Date.parse('2026-11-20T00:00:00.000Z');
let n = 0;
const ev = (userId: string, event: string, properties: Record<string, unknown>, hours: number) => {
  const timestamp = new Date(T + hours * 3_600_000).toISOString();
  return JSON.stringify({ type: 'track', userId, event, properties, timestamp, receivedAt: timestamp, sourceId: 'src', messageId: `m${n++}` });
};

test('signals: popularity by weight, views paired within the window, purchases paired at any time; each entry counts once across restarts', async () => {
  const log = await SqliteEventLog.open({ dir, partitions: 4, dedupWindowMs: 60_000, sync: 'normal', maxPendingEvents: 10_000, writer: 'inline' });
  const items = new SqliteItemStore({ dir });
  try {
    await appendEnvelopes(log, [
      ev('ann', 'Product Viewed', { product_id: 'a' }, 0),
      ev('ann', 'Product Viewed', { product_id: 'b' }, 1), // a–b viewed together
      ev('ann', 'Product Viewed', { product_id: 'c' }, 48), // two days later: not with a or b
      ev('ann', 'Order Completed', { products: [{ product_id: 'x' }, { product_id: 'y' }] }, 49), // x–y bought together
      ev('ann', 'Order Completed', { products: [{ product_id: 'z' }] }, 24 * 20), // z with x and y, weeks later
      ev('bob', 'Product Viewed', { product_id: 'a' }, 0),
      ev('bob', 'Signed Up', {}, 0),
    ]);
    const b = new SignalBuilder(log, items, SETTINGS);
    await b.init();
    assert.equal(await b.drain(), 7);
    assert.equal(await b.lag(), 0);
    const now = T + 24 * 20 * 3_600_000;
    const pop = await items.topItems('popular', 10);
    assert.deepEqual(pop.map((p) => p.item).slice(0, 1), ['z'], 'a purchase weighs 5 views (and z is the newest)');
    const a = pop.find((p) => p.item === 'a')!;
    assert.ok(Math.abs(decayedAt(a, T, 7 * 86_400_000) - 2) < 1e-9, 'a: two views');
    const views = await items.neighbors(['a', 'b', 'c'], 'view', 10);
    assert.deepEqual(views.get('a')!.map((p) => p.item), ['b']);
    assert.deepEqual(views.get('b')!.map((p) => p.item), ['a']);
    assert.deepEqual(views.get('c'), [], 'outside the 24 h window');
    const bought = await items.neighbors(['x', 'z'], 'purchase', 10);
    assert.deepEqual(bought.get('x')!.map((p) => p.item).sort(), ['y', 'z']);
    assert.deepEqual(bought.get('z')!.map((p) => p.item).sort(), ['x', 'y']);
    assert.ok(now > T);

    // A new builder (a restart) continues where the last committed batch ended: nothing counts twice.
    const again = new SignalBuilder(log, items, SETTINGS);
    await again.init();
    assert.equal(await again.drain(), 0);
    await appendEnvelopes(log, [ev('cat', 'Product Viewed', { product_id: 'a' }, 0)]);
    assert.equal(await again.drain(), 1);
    const a2 = (await items.topItems('popular', 10)).find((p) => p.item === 'a')!;
    assert.ok(Math.abs(decayedAt(a2, T, 7 * 86_400_000) - 3) < 1e-9, 'three views of a, each once');

    // An erasure: what the builder remembers of the person goes; their next view pairs with nothing before.
    again.forget(['cat']);
    await appendEnvelopes(log, [ev('cat', 'Product Viewed', { product_id: 'q' }, 1)]);
    await again.drain();
    assert.deepEqual((await items.neighbors(['q'], 'view', 10)).get('q'), []);
    await appendEnvelopes(log, [ev('cat', 'Product Viewed', { product_id: 'r' }, 2)]);
    await again.drain();
    assert.deepEqual((await items.neighbors(['r'], 'view', 10)).get('r')!.map((p) => p.item), ['q'], 'from then on it remembers again');
  } finally {
    await log.close();
    await items.close();
  }
});

test('signals: a large batch is read in slices with the event loop let in between, audience events skipped, every entry counted once', async () => {
  const log = await SqliteEventLog.open({ dir: `${dir}/sliced`, partitions: 4, dedupWindowMs: 60_000, sync: 'normal', maxPendingEvents: 10_000, writer: 'inline' });
  const items = new SqliteItemStore({ dir: `${dir}/sliced` });
  try {
    const views = Array.from({ length: 1300 }, (_, i) => ev(`u${i}`, 'Product Viewed', { product_id: 'a' }, 0));
    await appendEnvelopes(log, views);
    // Mosaic's own audience events: in the log beside them, naming no item.
    await appendAudienceEvents(log, Array.from({ length: 700 }, (_, i) => JSON.stringify(['entered', 'buyers', `p${i}`, T, 'userId', `u${i}`])));
    const b = new SignalBuilder(log, items, SETTINGS, { batchEntries: 5000 });
    await b.init();
    let turns = 0;
    let counting = true;
    const count = () => {
      turns++;
      if (counting) setImmediate(count);
    };
    setImmediate(count);
    // Two calls at once: serialised, so the second finds nothing left rather than counting again.
    const [first, second] = await Promise.all([b.runOnce(), b.runOnce()]);
    counting = false;
    assert.equal(first, 2000, 'one batch reads every entry, audience events included (its position moves past them)');
    assert.equal(second, 0);
    assert.ok(turns >= 3, `the event loop turned ${turns} times while 2,000 entries were read: it is let in between slices`);
    assert.equal(await b.lag(), 0);
    const a = (await items.topItems('popular', 10)).find((p) => p.item === 'a')!;
    assert.ok(Math.abs(decayedAt(a, T, 7 * 86_400_000) - 1300) < 1e-6, 'each view of a counted once');
  } finally {
    await log.close();
    await items.close();
  }
});
