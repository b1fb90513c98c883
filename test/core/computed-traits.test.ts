import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ComputedTraitError, compileComputedTraits, type ComputedTraitDef } from '../../src/core/computed-traits.js';
import type { Envelope } from '../../src/core/envelope.js';
import { applyEvent, emptyProfile, reduceBatch, toPublicProfile, type ProfileDoc } from '../../src/core/profile.js';
import { env } from '../helpers.js';

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
];
const traits = compileComputedTraits(DEFS);

const order = (revenue: unknown, category: string, timestamp: string, userId = 'u') =>
  env({ type: 'track', userId, event: 'Order Completed', properties: { revenue, category }, timestamp });

test('each operation, with event, type and where filters', () => {
  const doc = emptyProfile();
  for (const e of [
    order(50, 'shoes', '2026-01-03T00:00:00.000Z'),
    order(150, 'hats', '2026-01-01T00:00:00.000Z'),
    order(19.99, 'boots', '2026-01-02T00:00:00.000Z'),
    order('n/a', 'socks', '2026-01-04T00:00:00.000Z'),
    env({ type: 'track', userId: 'u', event: 'Product Viewed', properties: { category: 'boots' } }),
    env({ type: 'track', userId: 'u', event: 'Product Viewed', properties: { category: 'hats' } }),
    env({ type: 'page', userId: 'u' }),
  ]) {
    applyEvent(doc, e, traits);
  }
  assert.deepEqual(toPublicProfile(doc, traits).computedTraits, {
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
  });
});

test('a profile with no matching event shows 0 for counts and sums, null otherwise', () => {
  const doc = emptyProfile();
  applyEvent(doc, env({ type: 'identify', userId: 'u' }), traits);
  const v = toPublicProfile(doc, traits).computedTraits;
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
    properties: fc.record({ revenue: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.constantFrom(0.1, 0.2, 19.99, 'x')), category: fc.constantFrom('shoes', 'boots', 'hats') }),
  }),
  fc.record({ type: fc.constant('identify' as const), userId: users, anonymousId: fc.option(anons, { nil: undefined }), timestamp: time }),
  fc.record({ type: fc.constant('page' as const), anonymousId: anons, timestamp: time }),
  fc.record({ type: fc.constant('alias' as const), userId: users, previousId: fc.oneof(users, anons), timestamp: time }),
);

function run(events: readonly Envelope[], cuts: number[]): ProfileDoc[] {
  const owners = new Map<string, string>();
  const docs = new Map<string, ProfileDoc>();
  let at = 0;
  let c = 0;
  while (at < events.length) {
    const n = cuts[c++ % cuts.length]!;
    const changes = reduceBatch(events.slice(at, at + n), { profileOf: (k) => owners.get(k), load: (id) => structuredClone(docs.get(id)) }, traits);
    for (const id of changes.deletes) docs.delete(id);
    for (const d of changes.upserts.values()) docs.set(d.id, structuredClone(d));
    for (const [k, id] of changes.identities) owners.set(k, id);
    at += n;
  }
  return [...docs.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** The reference: each event's final profile found through its identities, values computed directly. */
function reference(events: readonly Envelope[], doc: ProfileDoc, all: ProfileDoc[]) {
  const mine = events.filter((e) => {
    const keys = [e.userId && `user_id:${e.userId}`, e.anonymousId && `anonymous_id:${e.anonymousId}`, e.type === 'alias' && e.previousId && `alias:${e.previousId}`].filter(Boolean);
    return all.find((d) => keys.some((k) => d.identities.includes(k as string)))?.id === doc.id;
  });
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
  };
}

test('property: computed traits are independent of order and batching, and equal a direct computation', () => {
  fc.assert(
    fc.property(
      fc.array(eventArb, { minLength: 1, maxLength: 40 }).map((evs) => evs.map((e, i) => ({ ...e, messageId: `m${String(i).padStart(3, '0')}`, receivedAt: e.timestamp, sourceId: 's' }) as Envelope)),
      fc.nat(),
      fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 6 }),
      (events, seed, cuts) => {
        const want = run(events, [events.length]);
        for (const doc of want) assert.deepEqual(toPublicProfile(doc, traits).computedTraits, reference(events, doc, want));
        const shuffled = fc.sample(fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }), { seed, numRuns: 1 })[0]!;
        assert.deepEqual(run(shuffled, cuts).map((d) => toPublicProfile(d, traits)), want.map((d) => toPublicProfile(d, traits)));
      },
    ),
    { numRuns: 300 },
  );
});
