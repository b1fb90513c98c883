import { test } from 'node:test';
import assert from 'node:assert/strict';
import { itemText, parseItem, priceBand } from '../../src/core/items.js';
import { cosine, hashingVector, tokens } from '../../src/core/hashing-vectorizer.js';
import { interactionReader, recentItemsOf, recentItemTraits } from '../../src/core/interactions.js';
import type { Envelope } from '../../src/core/envelope.js';

test('items: API objects and CSV rows become items; problems are named by path', () => {
  const fromCsv = parseItem({ id: 7, title: 'Hat', categories: 'hats|winter', tags: '', price: '19.5', available: 'false', colour: 'red' });
  assert.deepEqual(fromCsv, { item: { id: '7', title: 'Hat', categories: ['hats', 'winter'], tags: [], price: 19.5, available: false, attributes: { colour: 'red' } } });
  const bad = parseItem({ price: 'cheap', available: 'maybe', categories: [1], attributes: [] }, '/items/2');
  assert.deepEqual('problems' in bad ? bad.problems.map((p) => p.path) : [], ['/items/2/id', '/items/2/price', '/items/2/available', '/items/2/attributes', '/items/2/categories']);
  assert.ok('problems' in parseItem('x'));
  assert.equal(itemText({ id: 'a', title: 'T', brand: 'B', categories: ['c'], tags: ['t'], text: 'x', available: true, attributes: {} }), 'T B c t x');
  assert.equal(priceBand(40), '32-64');
  assert.equal(priceBand(undefined), undefined);
});

test('hashing vectorizer: deterministic, unit length, similar texts closer than unrelated ones', () => {
  assert.deepEqual(tokens('The RED running-shoe, for runners!'), ['red', 'running', 'shoe', 'runners']);
  const a = hashingVector('red running shoe for the road', 256);
  assert.deepEqual(a, hashingVector('red running shoe for the road', 256));
  assert.ok(Math.abs(cosine(a, a) - 1) < 1e-6);
  const near = hashingVector('red trail running shoe', 256);
  const far = hashingVector('warm wool winter hat', 256);
  assert.ok(cosine(a, near) > 0.4 && cosine(a, far) < 0.2, `${cosine(a, near)} vs ${cosine(a, far)}`);
  assert.ok(hashingVector('', 64).every((x) => x === 0), 'no words, no direction');
});

const track = (event: string, properties: Record<string, unknown>, timestamp = '2026-11-01T00:00:00.000Z') => ({ type: 'track', event, properties, messageId: 'm', timestamp, receivedAt: timestamp, sourceId: 's', userId: 'u' }) as Envelope;

test('interactions: the configured events, the item id or ids, the kind', () => {
  const read = interactionReader([
    { event: 'Product Viewed', item: 'properties.product_id', kind: 'view' },
    { event: 'Order Completed', item: 'properties.products[].product_id', kind: 'purchase' },
  ]);
  assert.deepEqual(read(track('Product Viewed', { product_id: 42 })), { kind: 'view', items: ['42'] });
  assert.deepEqual(read(track('Order Completed', { products: [{ product_id: 'a' }, { product_id: 'b' }, { product_id: 'a' }, { sku: 'x' }] })), { kind: 'purchase', items: ['a', 'b'] });
  assert.equal(read(track('Order Completed', { products: [] })), undefined);
  assert.equal(read(track('Signed Up', { product_id: 'a' })), undefined);
  const traits = recentItemTraits([{ event: 'Product Viewed', item: 'properties.product_id', kind: 'view' }, { event: 'Product Added', item: 'properties.product_id', kind: 'cart' }, { event: 'Order Completed', item: 'properties.products[].product_id', kind: 'purchase' }], 3);
  assert.deepEqual(recentItemsOf({ [traits[0]!.name]: ['a', 'b', 'c'], [traits[1]!.name]: ['d', 'a'], [traits[2]!.name]: ['x'] }, traits, 3), { viewed: ['d', 'a', 'b'], carted: ['d', 'a'], purchased: ['x'] });
});
