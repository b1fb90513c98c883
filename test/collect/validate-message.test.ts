import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateMessage } from '../../src/collect/validate-message.js';

const rules = (msg: unknown, type?: Parameters<typeof validateMessage>[1]) => validateMessage(msg, type).map((d) => `${d.path} ${d.rule}`);

test('valid messages of every type pass', () => {
  assert.deepEqual(rules({ type: 'track', userId: 'u', event: 'e' }), []);
  assert.deepEqual(rules({ type: 'identify', anonymousId: 'a', traits: { a: 1 } }), []);
  assert.deepEqual(rules({ type: 'page', userId: 1, name: 'Home' }), []);
  assert.deepEqual(rules({ type: 'screen', userId: 'u' }), []);
  assert.deepEqual(rules({ type: 'group', userId: 'u', groupId: 'g' }), []);
  assert.deepEqual(rules({ type: 'alias', userId: 'u', previousId: 'p' }), []);
  assert.deepEqual(rules({ userId: 'u', event: 'e', timestamp: '2026-11-21T10:00:00.123+01:00', sentAt: '2026-11-21' }, 'track'), []);
});

test('every structural problem is named', () => {
  assert.deepEqual(rules('x'), ['/ type']);
  assert.deepEqual(rules([]), ['/ type']);
  assert.deepEqual(rules({ userId: 'u' }), ['/type enum']);
  assert.deepEqual(rules({ type: 'click', userId: 'u' }), ['/type enum']);
  assert.deepEqual(rules({ type: 'track', event: 'e' }), ['/userId identity']);
  assert.deepEqual(rules({ type: 'track', event: 'e', userId: '', anonymousId: '' }), ['/userId identity']);
  assert.deepEqual(rules({ type: 'page', userId: '', anonymousId: 'a' }), [], 'RudderStack sends userId "" for anonymous users');
  assert.deepEqual(rules({ type: 'track', userId: 'u' }), ['/event required']);
  assert.deepEqual(rules({ type: 'track', userId: 'u', event: '' }), ['/event nonEmpty']);
  assert.deepEqual(rules({ type: 'track', userId: 'u', event: 'e', timestamp: 'yesterday' }), ['/timestamp iso8601']);
  assert.deepEqual(rules({ type: 'track', userId: 'u', event: 'e', sentAt: '2026-13-45T00:00:00Z' }), ['/sentAt iso8601']);
  assert.deepEqual(rules({ type: 'track', userId: 'u', event: 'e', properties: [] }), ['/properties type']);
  assert.deepEqual(rules({ type: 'identify', userId: 'u', traits: 'pro' }), ['/traits type']);
  assert.deepEqual(rules({ type: 'identify', userId: { id: 1 } }), ['/userId type']);
  assert.deepEqual(rules({ type: 'group', userId: 'u' }), ['/groupId required']);
  assert.deepEqual(rules({ type: 'alias', previousId: 'p' }), ['/userId required']);
  assert.deepEqual(rules({ type: 'alias', userId: 'u' }), ['/previousId required']);
  assert.deepEqual(rules({ type: 'track', userId: 'u', event: 'e', context: { traits: 1 } }), ['/context/traits type']);
  assert.deepEqual(rules({ type: 'track', userId: 'u', event: 'e', messageId: 'x'.repeat(300) }), ['/messageId maxLength']);
});

test('several problems in one message are all reported, each with a readable message', () => {
  const d = validateMessage({ type: 'track', timestamp: 'soon', properties: 3 });
  assert.deepEqual(d.map((x) => x.rule).sort(), ['identity', 'iso8601', 'required', 'type']);
  for (const x of d) assert.ok(x.message.length > 10, x.message);
  assert.match(d.find((x) => x.rule === 'identity')!.message, /userId.*anonymousId/);
});
