import { test } from 'node:test';
import assert from 'node:assert/strict';
import { breakingChanges, diffSchemas, formatChange, type JsonSchema } from '../../src/core/schema-diff.js';

const order: JsonSchema = {
  type: 'object',
  properties: { order_id: { type: 'string' }, total: { type: 'number', minimum: 0 }, currency: { type: 'string', enum: ['EUR', 'USD'] }, coupon: { type: 'string' } },
  required: ['order_id', 'total'],
};
interface Prop { type?: string | string[]; minimum?: number; maxLength?: number; pattern?: string; enum?: string[]; title?: string; required?: string[]; properties?: Record<string, Prop>; items?: Prop }
interface Obj { type: string; properties: Record<string, Prop>; required: string[]; additionalProperties?: boolean; description?: string }
const with_ = (patch: (s: Obj) => void): JsonSchema => {
  const s = structuredClone(order) as unknown as Obj;
  patch(s);
  return s as unknown as JsonSchema;
};
const breaksOf = (after: JsonSchema) => diffSchemas(order, after).map((c) => `${c.path} ${c.breaks.join('+')}`);

test('an identical schema (annotations aside) has no changes', () => {
  assert.deepEqual(diffSchemas(order, structuredClone(order)), []);
  assert.deepEqual(diffSchemas(order, with_((s) => { s.description = 'an order'; s.properties.total!.title = 'Total'; })), []);
});

test('each change is classified: tightening breaks backward, loosening breaks forward', () => {
  assert.deepEqual(breaksOf(with_((s) => s.required.push('currency'))), ['/currency backward']);
  assert.deepEqual(breaksOf(with_((s) => (s.required = ['order_id']))), ['/total forward']);
  assert.deepEqual(breaksOf(with_((s) => (s.properties.total!.type = 'string'))), ['/total backward+forward']);
  assert.deepEqual(breaksOf(with_((s) => (s.properties.total!.type = ['number', 'string']))), ['/total forward']);
  assert.deepEqual(breaksOf(with_((s) => (s.properties.total!.type = 'integer'))), ['/total backward']);
  assert.deepEqual(breaksOf(with_((s) => s.properties.currency!.enum!.push('GBP'))), ['/currency forward']);
  assert.deepEqual(breaksOf(with_((s) => s.properties.currency!.enum!.pop())), ['/currency backward']);
  assert.deepEqual(breaksOf(with_((s) => (s.properties.total!.minimum = 1))), ['/total backward']);
  assert.deepEqual(breaksOf(with_((s) => delete s.properties.total!.minimum)), ['/total forward']);
  assert.deepEqual(breaksOf(with_((s) => (s.properties.coupon!.maxLength = 20))), ['/coupon backward']);
  assert.deepEqual(breaksOf(with_((s) => (s.properties.coupon!.pattern = '^[A-Z]+$'))), ['/coupon backward']);
  assert.deepEqual(breaksOf(with_((s) => (s.additionalProperties = false))), [' backward']);
});

test('properties added or removed depend on additionalProperties', () => {
  // Open schema: a new declared property constrains values that were accepted before.
  assert.deepEqual(breaksOf(with_((s) => (s.properties.channel = { type: 'string' }))), ['/channel backward']);
  // Removing a declared property from an open schema accepts any value for it.
  assert.deepEqual(breaksOf(with_((s) => delete s.properties.coupon)), ['/coupon forward']);
  const closed = with_((s) => (s.additionalProperties = false));
  const closedPlus = structuredClone(closed) as unknown as Obj;
  closedPlus.properties.channel = { type: 'string' };
  assert.deepEqual(diffSchemas(closed, closedPlus as unknown as JsonSchema).map((c) => `${c.path} ${c.breaks.join('+')}`), ['/channel forward']);
  const closedMinus = structuredClone(closed) as unknown as Obj;
  delete closedMinus.properties.coupon;
  assert.deepEqual(diffSchemas(closed, closedMinus as unknown as JsonSchema).map((c) => `${c.path} ${c.breaks.join('+')}`), ['/coupon backward']);
});

test('nested objects and array items are compared where they are', () => {
  const a: JsonSchema = { type: 'object', properties: { products: { type: 'array', items: { type: 'object', properties: { sku: { type: 'string' } } } } } };
  const b = structuredClone(a) as unknown as Obj;
  const item = b.properties.products!.items!;
  item.required = ['sku'];
  item.properties!.sku!.type = 'integer';
  assert.deepEqual(diffSchemas(a, b as unknown as JsonSchema).map((c) => `${c.path} ${c.breaks.join('+')}`), ['/products/items/sku backward', '/products/items/sku backward+forward']);
});

test('an unanalysed keyword that changed is breaking both ways', () => {
  const c = diffSchemas({ anyOf: [{ type: 'string' }] }, { anyOf: [{ type: 'number' }] });
  assert.equal(c.length, 1);
  assert.deepEqual(c[0]!.breaks, ['backward', 'forward']);
});

test('modes pick the breaking changes; the text is readable', () => {
  const changes = diffSchemas(order, with_((s) => { s.required.push('currency'); s.properties.currency!.enum!.push('GBP'); }));
  assert.equal(breakingChanges(changes, 'backward').length, 1);
  assert.equal(breakingChanges(changes, 'forward').length, 1);
  assert.equal(breakingChanges(changes, 'full').length, 2);
  assert.equal(breakingChanges(changes, 'none').length, 0);
  assert.deepEqual(changes.map(formatChange), ['/currency: now required (breaks backward)', '/currency: enum accepts "GBP" (breaks forward)']);
});
