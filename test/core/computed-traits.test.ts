import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ComputedTraitError, compileComputedTraits, timeStepMs, type ComputedTraitDef } from '../../src/core/computed-traits.js';
import type { Envelope } from '../../src/core/envelope.js';
import { applyEvent, emptyProfile, toPublicProfile, type ProfileDoc } from '../../src/core/profile.js';
import { anchorOf, env, reduceInBatches } from '../helpers.js';

const DEFS: ComputedTraitDef[] = [
  { name: 'orders', op: 'count', event: 'Order Completed' },
  { name: 'revenue', op: 'sum', event: 'Order Completed', property: 'properties.revenue' },
  { name: 'avg_order', op: 'avg', event: 'Order Completed', property: 'properties.revenue' },
  { name: 'smallest', op: 'min', event: 'Order Completed', property: 'properties.revenue' },
  { name: 'largest', op: 'max', event: 'Order Completed', property: 'properties.revenue' },
  { name: 'first_category', op: 'first', event: 'Order Completed', property: 'properties.category' },
  { name: 'last_category', op: 'last', event: 'Order Completed', property: 'properties.category' },
  { name: 'big_orders', op: 'count', event: 'Order Completed', where: [{ path: 'properties.revenue', op: 'gte', value: 100 }] },
  { name: 'shoe_views', op: 'count', event: 'Product Viewed', where: [{ path: 'properties.category', op: 'in', value: ['shoes', 'boots'] }] },
  { name: 'pages', op: 'count', type: 'page' },
  { name: 'categories_bought', op: 'distinct_count', event: 'Order Completed', property: 'properties.category' },
  { name: 'favourite_categories', op: 'top_n', n: 2, event: 'Product Viewed', property: 'properties.category' },
  { name: 'rfm', op: 'rfm', event: 'Order Completed', property: 'properties.revenue' },
  { name: 'recent_items', op: 'recent', n: 2, event: 'Product Viewed', property: 'properties.items[].id' },
];
const traits = compileComputedTraits(DEFS);
const model = { computedTraits: traits };

const NOW = Date.parse('2026-06-01T00:00:00.000Z');
const order = (revenue: unknown, category: string, timestamp: string, userId = 'u') =>
  env({ type: 'track', userId, event: 'Order Completed', properties: { revenue, category }, timestamp });

test('each operation, with event, type and where filters', () => {
  const doc = emptyProfile();
  for (const e of [
    order(50, 'shoes', '2026-01-03T00:00:00.000Z'),
    order(150, 'hats', '2026-01-01T00:00:00.000Z'),
    order(19.99, 'boots', '2026-01-02T00:00:00.000Z'),
    order('n/a', 'socks', '2026-01-04T00:00:00.000Z'),
    env({ type: 'track', userId: 'u', event: 'Product Viewed', properties: { category: 'boots', items: [{ id: 'p1' }, { id: 'p2' }] }, timestamp: '2026-01-05T00:00:00.000Z' }),
    env({ type: 'track', userId: 'u', event: 'Product Viewed', properties: { category: 'hats', items: [{ id: 'p3' }, { sku: 'no id' }] }, timestamp: '2026-01-06T00:00:00.000Z' }),
    env({ type: 'page', userId: 'u' }),
  ]) {
    applyEvent(doc, e, model);
  }
  assert.deepEqual(toPublicProfile(doc, model, NOW).computedTraits, {
    orders: 4,
    revenue: 219.99, // not 219.98999999999998: sums are kept in integer millionths
    avg_order: 73.33,
    smallest: 19.99,
    largest: 150,
    first_category: 'hats', // by event time, not arrival
    last_category: 'socks',
    big_orders: 1,
    shoe_views: 1,
    pages: 1,
    categories_bought: 4,
    favourite_categories: ['boots', 'hats'], // one view each: ties broken by value
    // Recency is measured against the clock when read: here the env() clock's reading.
    rfm: { recencyDays: Math.floor((NOW - Date.parse('2026-01-04T00:00:00.000Z')) / 86_400_000), frequency: 4, monetary: 219.99 },
    recent_items: ['p3', 'p1'], // newest first; p1 and p2 tie on time, broken by value
  });
});

test('top_n ranks by occurrences; rfm recency grows as time passes with no new event', () => {
  const doc = emptyProfile();
  for (const c of ['hats', 'shoes', 'shoes', 'boots', 'shoes', 'hats']) applyEvent(doc, env({ type: 'track', userId: 'u', event: 'Product Viewed', properties: { category: c } }), model);
  applyEvent(doc, order(10, 'x', '2026-03-01T00:00:00.000Z'), model);
  const day = 86_400_000;
  const at = (t: number) => toPublicProfile(doc, model, t).computedTraits;
  assert.deepEqual(at(Date.parse('2026-03-01T12:00:00.000Z')).favourite_categories, ['shoes', 'hats']);
  assert.deepEqual(at(Date.parse('2026-03-01T12:00:00.000Z')).rfm, { recencyDays: 0, frequency: 1, monetary: 10 });
  assert.deepEqual(at(Date.parse('2026-03-01T00:00:00.000Z') + 10 * day).rfm, { recencyDays: 10, frequency: 1, monetary: 10 });
});

test('a profile with no matching event shows 0 for counts and sums, null otherwise', () => {
  const doc = emptyProfile();
  applyEvent(doc, env({ type: 'identify', userId: 'u' }), model);
  const v = toPublicProfile(doc, model).computedTraits;
  assert.equal(v.categories_bought, 0);
  assert.deepEqual(v.favourite_categories, []);
  assert.equal(v.rfm, null);
  assert.equal(v.orders, 0);
  assert.equal(v.revenue, 0);
  assert.equal(v.avg_order, null);
  assert.equal(v.largest, null);
  assert.equal(v.first_category, null);
});

test('invalid definitions are refused with every problem named', () => {
  assert.throws(
    () =>
      compileComputedTraits([
        { name: 'x', op: 'sum' },
        { name: 'x', op: 'count', property: 'a' },
        { name: '9lives', op: 'count', where: [{ path: 'p', op: 'gt', value: '3' }, { path: 'q', op: 'in', value: 'a' }] },
      ] as ComputedTraitDef[]),
    (e: unknown) => {
      assert.ok(e instanceof ComputedTraitError);
      assert.deepEqual(e.problems.map((p) => p.path), [
        '/computedTraits/0/property',
        '/computedTraits/1/name',
        '/computedTraits/1/property',
        '/computedTraits/2/name',
        '/computedTraits/2/where/0/value',
        '/computedTraits/2/where/1/value',
      ]);
      return true;
    },
  );
});

// --- property: order, batching and merges do not change computed traits; they equal a direct computation ---

const users = fc.constantFrom('u1', 'u2', 'u3');
const anons = fc.constantFrom('a1', 'a2', 'a3', 'a4');
const time = fc.integer({ min: 0, max: 30 }).map((s) => new Date(Date.UTC(2026, 0, 1) + s * 1000).toISOString());
const eventArb = fc.oneof(
  fc.record({
    type: fc.constant('track' as const),
    event: fc.constantFrom('Order Completed', 'Product Viewed'),
    userId: fc.option(users, { nil: undefined }),
    anonymousId: anons,
    timestamp: time,
    properties: fc.record({
      revenue: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.constantFrom(0.1, 0.2, 19.99, 'x')),
      category: fc.constantFrom('shoes', 'boots', 'hats'),
      items: fc.array(fc.record({ id: fc.constantFrom('i1', 'i2', 'i3', 'i4') }), { maxLength: 3 }),
    }),
  }),
  fc.record({ type: fc.constant('identify' as const), userId: users, anonymousId: fc.option(anons, { nil: undefined }), timestamp: time }),
  fc.record({ type: fc.constant('page' as const), anonymousId: anons, timestamp: time }),
  fc.record({ type: fc.constant('alias' as const), userId: users, previousId: fc.oneof(users, anons), timestamp: time }),
);

const run = (events: readonly Envelope[], cuts: number[]) => reduceInBatches(events, cuts, model);

/** The reference: each event's final profile found through its identities, values computed directly. */
function reference(events: readonly Envelope[], doc: ProfileDoc, all: ProfileDoc[]) {
  const mine = events.filter((e) => all.find((d) => d.identities.includes(anchorOf(e)))?.id === doc.id);
  const orders = mine.filter((e) => e.type === 'track' && e.event === 'Order Completed');
  const nums = orders.map((e) => e.properties!.revenue).filter((v): v is number => typeof v === 'number');
  const byTime = [...orders].sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp) || (a.messageId < b.messageId ? -1 : 1));
  const sum = nums.reduce((a, n) => a + Math.round(n * 1e6), 0) / 1e6;
  return {
    orders: orders.length,
    revenue: sum,
    avg_order: nums.length ? nums.reduce((a, n) => a + Math.round(n * 1e6), 0) / 1e6 / nums.length : null,
    smallest: nums.length ? Math.min(...nums) : null,
    largest: nums.length ? Math.max(...nums) : null,
    first_category: byTime[0]?.properties!.category ?? null,
    last_category: byTime[byTime.length - 1]?.properties!.category ?? null,
    big_orders: nums.filter((n) => n >= 100).length,
    shoe_views: mine.filter((e) => e.event === 'Product Viewed' && ['shoes', 'boots'].includes(e.properties!.category as string)).length,
    pages: mine.filter((e) => e.type === 'page').length,
    categories_bought: new Set(orders.map((e) => e.properties!.category)).size,
    favourite_categories: (() => {
      const counts = new Map<string, number>();
      for (const e of mine) if (e.event === 'Product Viewed') counts.set(e.properties!.category as string, (counts.get(e.properties!.category as string) ?? 0) + 1);
      return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 2).map(([k]) => k);
    })(),
    recent_items: (() => {
      const newest = new Map<string, number>();
      for (const e of mine) {
        if (e.event !== 'Product Viewed') continue;
        for (const { id } of e.properties!.items as { id: string }[]) newest.set(id, Math.max(newest.get(id) ?? -Infinity, Date.parse(e.timestamp)));
      }
      return [...newest].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 2).map(([k]) => k);
    })(),
    rfm: orders.length ? { recencyDays: Math.floor((NOW - Math.max(...orders.map((e) => Date.parse(e.timestamp)))) / 86_400_000), frequency: orders.length, monetary: sum } : null,
  };
}

test('property: computed traits are independent of order and batching, and equal a direct computation', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(eventArb, { minLength: 1, maxLength: 40 }).map((evs) => evs.map((e, i) => ({ ...e, messageId: `m${String(i).padStart(3, '0')}`, receivedAt: e.timestamp, sourceId: 's' }) as Envelope)),
      fc.nat(),
      fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 6 }),
      async (events, seed, cuts) => {
        const want = await run(events, [events.length]);
        for (const doc of want) assert.deepEqual(toPublicProfile(doc, model, NOW).computedTraits, reference(events, doc, want));
        const shuffled = fc.sample(fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }), { seed, numRuns: 1 })[0]!;
        assert.deepEqual((await run(shuffled, cuts)).map((d) => toPublicProfile(d, model, NOW)), want.map((d) => toPublicProfile(d, model, NOW)));
      },
    ),
    { numRuns: 300 },
  );
});

// --- windows ---

import { parseWindow } from '../../src/core/computed-traits.js';

test('windows: bucket size gives at least 24 buckets per window, within bounds', () => {
  assert.deepEqual(parseWindow('30d'), { bucketMs: 86_400_000, buckets: 30 });
  assert.deepEqual(parseWindow('7d'), { bucketMs: 3_600_000, buckets: 168 });
  assert.deepEqual(parseWindow('24h'), { bucketMs: 3_600_000, buckets: 24 });
  assert.deepEqual(parseWindow('1h'), { bucketMs: 60_000, buckets: 60 });
  assert.deepEqual(parseWindow('30m'), { bucketMs: 60_000, buckets: 30 });
  for (const bad of ['7', 'd7', '0d', '500d', '1.5h', '7w']) assert.equal(parseWindow(bad), undefined, bad);
  assert.throws(() => compileComputedTraits([{ name: 'x', op: 'count', window: 'soon' }]), /not a window/);
});

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);
const windowedTraits = compileComputedTraits([
  { name: 'orders_7d', op: 'count', event: 'Order Completed', window: '7d' },
  { name: 'revenue_3d', op: 'sum', event: 'Order Completed', property: 'properties.revenue', window: '3d' },
  { name: 'last_cat_2d', op: 'last', event: 'Order Completed', property: 'properties.category', window: '2d' },
]);
const windowed = { computedTraits: windowedTraits };

test('a windowed value falls as the window slides, with no new event', () => {
  const doc = emptyProfile();
  for (const h of [0, 24, 48]) applyEvent(doc, order(10, `c${h}`, new Date(T0 + h * HOUR).toISOString()), windowed);
  const at = (h: number) => toPublicProfile(doc, windowed, T0 + h * HOUR).computedTraits;
  assert.deepEqual(at(48), { orders_7d: 3, revenue_3d: 30, last_cat_2d: 'c48' });
  assert.deepEqual(at(24 * 3), { orders_7d: 3, revenue_3d: 20, last_cat_2d: 'c48' }); // hour 0 is 72 h old: out of 3d
  assert.deepEqual(at(24 * 7 + 1), { orders_7d: 2, revenue_3d: 0, last_cat_2d: null }); // hour 0 left the 7 days
  assert.deepEqual(at(24 * 8 + 1), { orders_7d: 1, revenue_3d: 0, last_cat_2d: null });
  assert.deepEqual(at(24 * 9), { orders_7d: 0, revenue_3d: 0, last_cat_2d: null });
});

test('property: windowed traits are independent of order and batching, and equal a direct count', async () => {
  const hourArb = fc.integer({ min: 0, max: 24 * 20 });
  const ev = fc.record({ anon: fc.constantFrom('a1', 'a2'), user: fc.option(fc.constantFrom('u1', 'u2'), { nil: undefined }), hour: hourArb, revenue: fc.integer({ min: 1, max: 9 }), cat: fc.constantFrom('x', 'y') });
  await fc.assert(
    fc.asyncProperty(fc.array(ev, { minLength: 1, maxLength: 30 }), fc.nat(), fc.integer({ min: 0, max: 24 * 12 }), fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }), async (raw, seed, after, cuts) => {
      const events = raw.map((r, i) => ({ type: 'track', event: 'Order Completed', anonymousId: r.anon, userId: r.user, timestamp: new Date(T0 + r.hour * HOUR).toISOString(), messageId: `m${String(i).padStart(3, '0')}`, receivedAt: '', sourceId: 's', properties: { revenue: r.revenue, category: r.cat } }) as Envelope);
      const now = T0 + (Math.max(...raw.map((r) => r.hour)) + after) * HOUR + 1;
      const once = (evs: readonly Envelope[], c: number[]) => reduceInBatches(evs, c, windowed);
      const want = await once(events, [events.length]);
      const shuffled = fc.sample(fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }), { seed, numRuns: 1 })[0]!;
      assert.deepEqual((await once(shuffled, cuts)).map((d) => toPublicProfile(d, windowed, now)), want.map((d) => toPublicProfile(d, windowed, now)));
      for (const doc of want) {
        const mine = events.filter((e) => doc.identities.includes(anchorOf(e)));
        const nowHour = Math.floor(now / HOUR);
        const inWindow = (e: Envelope, hours: number) => Math.floor(Date.parse(e.timestamp) / HOUR) > nowHour - hours;
        const last2d = mine.filter((e) => inWindow(e, 48)).sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp) || (a.messageId < b.messageId ? -1 : 1)).pop();
        assert.deepEqual(toPublicProfile(doc, windowed, now).computedTraits, {
          orders_7d: mine.filter((e) => inWindow(e, 168)).length,
          revenue_3d: mine.filter((e) => inWindow(e, 72)).reduce((a, e) => a + (e.properties!.revenue as number), 0),
          last_cat_2d: last2d?.properties!.category ?? null,
        });
      }
    }),
    { numRuns: 300 },
  );
});

test('the time step of a set of traits: the smallest window bucket, an hour for rfm, none without either', () => {
  const compiled = compileComputedTraits([
    { name: 'orders', op: 'count', event: 'Order Completed' },
    { name: 'views_30d', op: 'count', event: 'Product Viewed', window: '30d' },
    { name: 'views_7d', op: 'count', event: 'Product Viewed', window: '7d' },
    { name: 'value', op: 'rfm', event: 'Order Completed', property: 'properties.revenue' },
    { name: 'views_30m', op: 'count', event: 'Product Viewed', window: '30m' },
  ]);
  assert.equal(timeStepMs(compiled.slice(0, 1)), undefined);
  assert.equal(timeStepMs(compiled.slice(0, 2)), 86_400_000);
  assert.equal(timeStepMs(compiled.slice(0, 3)), 3_600_000);
  assert.equal(timeStepMs([compiled[0]!, compiled[3]!]), 3_600_000);
  assert.equal(timeStepMs(compiled), 60_000);
});

// --- reading several parts' states together ---

import { applyComputed, computedValues, computedValuesOf, mergeComputed, type TraitState } from '../../src/core/computed-traits.js';

test('property: values read across parts equal the values of the parts merged, windows and future events included', () => {
  // Every op, windowed and not; a small cap-free set of values so order-dependent ops are exercised.
  const all = [...traits, ...windowedTraits, ...compileComputedTraits([
    { name: 'cats_7d', op: 'top_n', n: 2, event: 'Order Completed', property: 'properties.category', window: '7d' },
    { name: 'first_3d', op: 'first', event: 'Order Completed', property: 'properties.category', window: '3d' },
    { name: 'rfm_30d', op: 'rfm', event: 'Order Completed', property: 'properties.revenue', window: '30d' },
  ])];
  const ev = fc.record({
    part: fc.integer({ min: 0, max: 2 }),
    hour: fc.integer({ min: 0, max: 24 * 20 }),
    event: fc.constantFrom('Order Completed', 'Product Viewed'),
    revenue: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.constant(19.99)),
    cat: fc.constantFrom('shoes', 'boots', 'hats'),
    items: fc.array(fc.constantFrom('i1', 'i2', 'i3'), { maxLength: 2 }),
  });
  fc.assert(
    fc.property(fc.array(ev, { maxLength: 30 }), fc.integer({ min: -24 * 5, max: 24 * 25 }), (raw, nowHour) => {
      const parts: Record<string, TraitState>[] = [{}, {}, {}];
      raw.forEach((r, i) => {
        const t = T0 + r.hour * HOUR;
        const e = { type: 'track', event: r.event, userId: 'u', timestamp: new Date(t).toISOString(), messageId: `m${String(i).padStart(3, '0')}`, receivedAt: '', sourceId: 's', properties: { revenue: r.revenue, category: r.cat, items: r.items.map((id) => ({ id })) } } as Envelope;
        applyComputed(parts[r.part]!, all, e, t);
      });
      // `now` may fall before some events (clocks disagree): merging prunes by the newest event, so reading across must too.
      const now = T0 + nowHour * HOUR + 1;
      const merged: Record<string, TraitState> = {};
      for (const p of parts) mergeComputed(merged, p, all);
      const want = computedValues(merged, all, now, true);
      assert.deepEqual(computedValuesOf(parts, all, now, true), want);
      assert.deepEqual(computedValuesOf([undefined, ...parts.filter((p) => Object.keys(p).length)], all, now, true), want);
    }),
    { numRuns: 400 },
  );
});
