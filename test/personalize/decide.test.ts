import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Mosaic } from '../../src/app.js';
import { API_TOKEN, WRITE_KEY, basic, startMosaic } from '../helpers.js';

let m: Mosaic & { cleanup: () => Promise<void> };
const admin = { authorization: `Bearer ${API_TOKEN}` };
const write = { authorization: basic(WRITE_KEY), 'content-type': 'application/json' };

const CATALOG = [
  { id: 's1', title: 'Red running shoe', categories: ['shoes'], brand: 'Fleet', price: 80, text: 'light red running shoe for the road' },
  { id: 's2', title: 'Running socks', categories: ['socks'], brand: 'Fleet', price: 12, text: 'breathable socks for running' },
  { id: 's3', title: 'Red trail running shoe', categories: ['shoes'], brand: 'Fleet', price: 95, text: 'red running shoe with trail grip' },
  { id: 's4', title: 'Blue court shoe', categories: ['shoes'], brand: 'Court', price: 70, text: 'tennis court shoe in blue' },
  { id: 's5', title: 'Sold-out shoe', categories: ['shoes'], brand: 'Fleet', price: 85, available: false, text: 'red running shoe' },
  { id: 'h1', title: 'Wool hat', categories: ['hats'], brand: 'Knit', price: 25, text: 'warm wool hat' },
  { id: 'h2', title: 'Sun hat', categories: ['hats'], brand: 'Knit', price: 30, text: 'straw sun hat' },
  { id: 'banner-x', title: 'Gold members: free shipping', categories: ['banners'], text: 'banner' },
];

const T = Date.parse('2026-11-20T10:00:00.000Z');
const at = (minutes: number) => new Date(T + minutes * 60_000).toISOString();
const viewed = (userId: string, product: string, minutes: number) => ({ type: 'track', userId, event: 'Product Viewed', properties: { product_id: product }, timestamp: at(minutes) });

async function send(batch: unknown[]) {
  const r = await m.app.inject({ method: 'POST', url: '/v1/batch', payload: { batch }, headers: write });
  assert.equal(r.statusCode, 200, r.body);
}

async function decide(body: Record<string, unknown>, headers: Record<string, string> = admin) {
  return m.app.inject({ method: 'POST', url: '/v1/decide', payload: body, headers });
}

before(async () => {
  m = await startMosaic({
    processor: { enabled: false },
    audiences: [{ name: 'gold', rule: { trait: 'tier', op: 'eq', value: 'gold' } }],
    personalization: {
      placements: {
        home: {},
        pop: { strategy: { popular: 1 } },
        cooc: { strategy: { cooccurrence: 1 } },
        content: { strategy: { content: 1 } },
        affinity: { strategy: { affinity: 1 } },
        diverse: { strategy: { popular: 1 }, rules: { maxPerCategory: 1 } },
        promo: { strategy: { popular: 1 }, content: [{ audience: 'gold', items: ['banner-x'] }] },
        exp: { strategy: { popular: 1 }, experiment: { name: 'home_recs', variants: [{ name: 'control', weight: 1 }, { name: 'cooc', weight: 1, strategy: { cooccurrence: 1 } }] } },
      },
    },
  });
  const put = await m.app.inject({ method: 'PUT', url: '/v1/items', payload: { items: CATALOG }, headers: admin });
  assert.equal(put.statusCode, 200, put.body);
  const events: unknown[] = [];
  // Ten shoppers view s1 then s2: the two are viewed together. Hats are the most viewed overall.
  for (let i = 0; i < 10; i++) events.push(viewed(`v${i}`, 's1', i), viewed(`v${i}`, 's2', i + 1));
  for (let i = 0; i < 30; i++) events.push(viewed(`hat${i}`, 'h1', i));
  for (let i = 0; i < 20; i++) events.push(viewed(`hat${i}`, 'h2', i + 1));
  // u1 viewed s1 and bought s4; u2 refuses personalization; u3 is gold.
  events.push(viewed('u1', 's1', 100));
  events.push({ type: 'track', userId: 'u1', event: 'Order Completed', properties: { products: [{ product_id: 's4' }] }, timestamp: at(101) });
  events.push({ type: 'identify', userId: 'u2', traits: {}, context: { consent: { categoryPreferences: { personalization: false } } }, timestamp: at(100) });
  events.push(viewed('u2', 's1', 101));
  events.push({ type: 'identify', userId: 'u3', traits: { tier: 'gold' }, timestamp: at(100) });
  await send(events);
  await m.processor.drain();
  await m.personalization!.signals!.drain();
  await m.personalization!.index!.sync();
});
after(async () => m.cleanup());

const ids = (r: { json: () => { items: { id: string }[] } }) => r.json().items.map((i) => i.id);

test('the catalog API: upsert, read, list by cursor, delete; invalid items name each problem and change nothing', async () => {
  const one = await m.app.inject({ method: 'GET', url: '/v1/items/s1', headers: admin });
  assert.equal(one.statusCode, 200);
  assert.deepEqual(one.json(), { id: 's1', title: 'Red running shoe', categories: ['shoes'], tags: [], brand: 'Fleet', price: 80, available: true, text: 'light red running shoe for the road', attributes: {} });
  const page = await m.app.inject({ method: 'GET', url: '/v1/items?limit=3', headers: admin });
  assert.deepEqual(page.json().items.map((i: { id: string }) => i.id), ['banner-x', 'h1', 'h2']);
  assert.equal(page.json().next, 'h2');
  assert.equal(page.json().total, CATALOG.length);
  const bad = await m.app.inject({ method: 'PUT', url: '/v1/items', payload: { items: [{ id: 'ok' }, { title: 'no id', price: -1 }] }, headers: admin });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().error.code, 'MOSAIC_ITEMS_INVALID');
  assert.deepEqual(bad.json().error.details.map((d: { path: string }) => d.path), ['/items/1/id', '/items/1/price']);
  assert.equal((await m.app.inject({ method: 'GET', url: '/v1/items/ok', headers: admin })).statusCode, 404, 'nothing of a bad request is applied');
  const put = await m.app.inject({ method: 'PUT', url: '/v1/items', payload: { items: [{ id: 'tmp' }] }, headers: admin });
  assert.equal(put.statusCode, 200);
  assert.equal((await m.app.inject({ method: 'DELETE', url: '/v1/items/tmp', headers: admin })).statusCode, 200);
  const gone = await m.app.inject({ method: 'DELETE', url: '/v1/items/tmp', headers: admin });
  assert.equal(gone.statusCode, 404);
  assert.equal(gone.json().error.code, 'MOSAIC_ITEM_NOT_FOUND');
});

test('popularity: an unknown visitor gets the most popular items, not personalized', async () => {
  const r = await decide({ anonymousId: 'nobody', placement: 'pop', limit: 3 });
  assert.equal(r.statusCode, 200, r.body);
  const d = r.json();
  assert.equal(d.personalized, false);
  assert.equal(d.profileId, undefined);
  assert.deepEqual(ids(r), ['h1', 'h2', 's1']);
  assert.equal(d.items[0].reason, 'Popular');
  assert.equal(d.items[0].item.title, 'Wool hat');
  assert.ok(d.items[0].score >= d.items[1].score);
});

test('co-occurrence: items viewed with what the person viewed come first, with the reason', async () => {
  const r = await decide({ userId: 'u1', placement: 'cooc', limit: 3 });
  const d = r.json();
  assert.equal(d.personalized, true);
  assert.match(d.profileId, /^p_/);
  assert.equal(d.items[0].id, 's2');
  assert.equal(d.items[0].source, 'cooccurrence');
  assert.equal(d.items[0].reason, 'Often viewed or bought with "Red running shoe"');
  // The item on the page seeds it too, for someone with no history.
  const page = await decide({ anonymousId: 'new', placement: 'cooc', context: { item: 's2' } });
  assert.equal(ids(page)[0], 's1');
  assert.ok(!ids(page).includes('s2'), 'never the item on the page itself');
});

test('content similarity: items whose text is like the recent ones', async () => {
  const r = await decide({ userId: 'u1', placement: 'content', limit: 2 });
  const d = r.json();
  assert.equal(d.items[0].id, 's3', JSON.stringify(d.items));
  assert.equal(d.items[0].source, 'content');
  assert.equal(d.items[0].reason, 'Similar to "Red running shoe"');
});

test('affinity: the categories and brands the person looks at rank first', async () => {
  const r = await decide({ userId: 'u1', placement: 'affinity', limit: 2 });
  const d = r.json();
  assert.deepEqual(d.items.map((i: { item: { categories: string[] } }) => i.item.categories[0]), ['shoes', 'shoes'], JSON.stringify(d.items));
  assert.equal(d.items[0].reason, 'Matches your interest in shoes');
});

test('business rules: purchased and unavailable items are left out; filters and diversity hold', async () => {
  for (const placement of ['home', 'affinity', 'content', 'pop']) {
    const got = ids(await decide({ userId: 'u1', placement, limit: 20 }));
    assert.ok(!got.includes('s4'), `${placement}: s4 was bought`);
    assert.ok(!got.includes('s5'), `${placement}: s5 is not available`);
  }
  const shoes = await decide({ userId: 'u1', placement: 'home', limit: 20, filters: { categories: ['shoes'], maxPrice: 90 } });
  assert.ok(ids(shoes).length > 0);
  for (const i of shoes.json().items) {
    assert.deepEqual(i.item.categories, ['shoes']);
    assert.ok(i.item.price <= 90);
  }
  const excluded = ids(await decide({ anonymousId: 'nobody', placement: 'pop', filters: { exclude: ['h1'] } }));
  assert.equal(excluded[0], 'h2');
  const diverse = await decide({ anonymousId: 'nobody', placement: 'diverse', limit: 10 });
  const cats = diverse.json().items.map((i: { item: { categories: string[] } }) => i.item.categories[0]);
  assert.equal(new Set(cats).size, cats.length, `one per category: ${cats}`);
});

test('consent: without personalization consent the answer is not personalized', async () => {
  const r = await decide({ userId: 'u2', placement: 'home', limit: 5 });
  const d = r.json();
  assert.equal(d.personalized, false);
  assert.ok(d.items.length > 0);
  for (const i of d.items) assert.ok(['popular', 'trending'].includes(i.source), `${i.id} from ${i.source}`);
  // The same history with consent (u1) is personalized.
  assert.equal((await decide({ userId: 'u1', placement: 'home' })).json().personalized, true);
});

test('rule-based content: members of an audience see its items first', async () => {
  const gold = await decide({ userId: 'u3', placement: 'promo', limit: 3 });
  assert.equal(gold.json().items[0].id, 'banner-x');
  assert.equal(gold.json().items[0].source, 'rule');
  assert.equal(gold.json().items[0].reason, 'For the gold audience');
  assert.ok(!ids(await decide({ userId: 'u1', placement: 'promo', limit: 10 })).includes('banner-x'), 'not for others');
});

test('experiments: a profile always gets the same variant, and its exposure is appended to the log once a day', async () => {
  const first = (await decide({ userId: 'u1', placement: 'exp' })).json();
  assert.equal(first.variant.experiment, 'home_recs');
  assert.ok(['control', 'cooc'].includes(first.variant.name));
  for (let i = 0; i < 5; i++) assert.deepEqual((await decide({ userId: 'u1', placement: 'exp' })).json().variant, first.variant);
  if (first.variant.name === 'cooc') assert.equal(first.items[0].source, 'cooccurrence');
  // Exposures are appended without holding the answer: wait for them.
  let exposures: { userId?: string; properties: Record<string, unknown> }[] = [];
  for (let tries = 0; tries < 50 && exposures.length === 0; tries++) {
    await new Promise((r) => setTimeout(r, 20));
    exposures = [];
    const ends = await m.log.endOffsets();
    for (let p = 0; p < ends.length; p++) {
      for (const e of await m.log.read(p, 1, 10_000)) {
        const ev = JSON.parse(e.payload);
        if (ev.event === 'Experiment Viewed') exposures.push(ev);
      }
    }
  }
  assert.equal(exposures.length, 1, 'six decisions, one exposure');
  assert.equal(exposures[0]!.userId, 'u1');
  assert.deepEqual(exposures[0]!.properties, { experiment_id: 'home_recs', experiment_name: 'home_recs', variant_name: first.variant.name, placement: 'exp', profile_id: first.profileId });

  // A first visit, before any profile: bucketed by the identity given, exposed under it.
  const visitor = (await decide({ anonymousId: 'first-visit', placement: 'exp' })).json();
  assert.equal(visitor.personalized, false);
  assert.ok(['control', 'cooc'].includes(visitor.variant.name));
  let theirs: { anonymousId?: string; properties: Record<string, unknown> } | undefined;
  for (let tries = 0; tries < 50 && !theirs; tries++) {
    await new Promise((r) => setTimeout(r, 20));
    const ends = await m.log.endOffsets();
    for (let p = 0; p < ends.length && !theirs; p++) {
      for (const e of await m.log.read(p, 1, 10_000)) {
        const ev = JSON.parse(e.payload);
        if (ev.event === 'Experiment Viewed' && ev.anonymousId === 'first-visit') theirs = ev;
      }
    }
  }
  assert.deepEqual(theirs?.properties, { experiment_id: 'home_recs', experiment_name: 'home_recs', variant_name: visitor.variant.name, placement: 'exp' });
});

test('errors: an unknown placement, a missing identity type, a token without the decide scope', async () => {
  const r = await decide({ userId: 'u1', placement: 'nope' });
  assert.equal(r.statusCode, 404);
  assert.equal(r.json().error.code, 'MOSAIC_PLACEMENT_NOT_FOUND');
  assert.match(r.json().error.message, /configured: home, pop/);
  const badId = await decide({ id: 'shoe_size:42', placement: 'home' });
  assert.equal(badId.statusCode, 400);
  assert.equal(badId.json().error.code, 'MOSAIC_IDENTITY_INVALID');
  const created = await m.app.inject({ method: 'POST', url: '/v1/tokens', payload: { scopes: ['profiles:read'] }, headers: admin });
  const denied = await decide({ userId: 'u1', placement: 'home' }, { authorization: `Bearer ${created.json().token}` });
  assert.equal(denied.statusCode, 403);
  assert.equal(denied.json().error.code, 'MOSAIC_AUTH_SCOPE');
  const scoped = await m.app.inject({ method: 'POST', url: '/v1/tokens', payload: { scopes: ['decide'] }, headers: admin });
  const ok = await decide({ userId: 'u1', placement: 'home' }, { authorization: `Bearer ${scoped.json().token}` });
  assert.equal(ok.statusCode, 200);
  const cannotWrite = await m.app.inject({ method: 'PUT', url: '/v1/items', payload: { items: [{ id: 'x' }] }, headers: { authorization: `Bearer ${scoped.json().token}` } });
  assert.equal(cannotWrite.statusCode, 403, 'the decide scope reads the catalog, it does not change it');
  const anonymous = await decide({ userId: 'u1', placement: 'home' }, {});
  assert.equal(anonymous.statusCode, 401);
});
