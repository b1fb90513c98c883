import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { isToken, Pseudonymizer, truncateIp } from '../../src/core/pseudonymize.js';

const K1 = { id: 'k1', secret: 'first-secret-of-16+' };
const K2 = { id: 'k2', secret: 'second-secret-16chars' };

test('hmac tokens: keyed, normalized, stable, marked with their key; tokens are left alone', () => {
  const p = new Pseudonymizer([{ path: 'traits.email', method: 'hmac', normalize: 'email' }], [K1]);
  const t = p.token('Ann@Example.io ', 'email');
  assert.match(t, /^pii:k1:[A-Za-z0-9_-]{32}$/);
  assert.equal(p.token('ann@example.io', 'email'), t);
  assert.notEqual(p.token('bob@example.io', 'email'), t);
  assert.notEqual(new Pseudonymizer([], [{ id: 'k1', secret: 'another-secret-16+' }]).token('ann@example.io', 'email'), t, 'the key matters');
  assert.equal(p.token(t), t);
  assert.ok(isToken(t) && !isToken('ann@example.io'));
  assert.throws(() => new Pseudonymizer([{ path: 'traits.email', method: 'hmac' }], []), /needs at least one key/);
});

test('the token is HMAC-SHA256 of the normalized value, as node:crypto computes it, for short and long keys', () => {
  for (const secret of ['short-but-16-char', 'k'.repeat(100)]) {
    const p = new Pseudonymizer([], [{ id: 'k9', secret }]);
    for (const v of ['ann@x.io', 'é'.repeat(50), '']) {
      assert.equal(p.token(v), `pii:k9:${createHmac('sha256', secret).update(v).digest('base64url').slice(0, 32)}`);
      assert.equal(p.token(v), p.token(v), 'cached: the same');
    }
  }
});

test('rotation: new tokens under the active key; every key\'s token for lookups', () => {
  const before = new Pseudonymizer([], [K1]);
  const after = new Pseudonymizer([], [K2, K1]);
  assert.equal(after.active, 'k2');
  assert.match(after.token('x'), /^pii:k2:/);
  assert.deepEqual(after.tokens('x'), [after.token('x'), before.token('x')]);
});

test('IP truncation: /24 for IPv4, /48 for IPv6, anything else dropped', () => {
  assert.equal(truncateIp('203.0.113.57'), '203.0.113.0');
  assert.equal(truncateIp('::ffff:198.51.100.7'), '198.51.100.0');
  assert.equal(truncateIp('2001:db8:85a3:8d3:1319:8a2e:370:7348'), '2001:db8:85a3::');
  assert.equal(truncateIp('2001:db8::1'), '2001:db8:0::');
  assert.equal(truncateIp('not an ip'), undefined);
});

test('apply replaces the configured paths in place, strings and numbers only', () => {
  const p = new Pseudonymizer(
    [
      { path: 'traits.email', method: 'hmac', normalize: 'email' },
      { path: 'context.traits.phone', method: 'hmac', normalize: 'phone' },
      { path: 'context.ip', method: 'truncate' },
      { path: 'properties.card', method: 'hmac' },
    ],
    [K1],
  );
  const msg: Record<string, unknown> = { traits: { email: 'Ann@x.io', name: 'Ann' }, context: { ip: '10.1.2.3', traits: { phone: '+44 7700 900123' } }, properties: { card: { nested: true } } };
  p.apply(msg);
  assert.deepEqual(msg, {
    traits: { email: p.token('ann@x.io'), name: 'Ann' },
    context: { ip: '10.1.2.0', traits: { phone: p.token('+447700900123') } },
    properties: { card: { nested: true } },
  });
  const none: Record<string, unknown> = { event: 'E' };
  p.apply(none);
  assert.deepEqual(none, { event: 'E' });
  assert.equal(p.storedValue('traits.email', 'ANN@x.io'), p.token('ann@x.io'));
  assert.equal(p.storedValue('traits.name', 'Ann'), 'Ann');
  const defaults = new Pseudonymizer([{ path: 'context.traits.email', method: 'hmac' }, { path: 'traits.phone', method: 'hmac' }], [K1]);
  assert.equal(defaults.storedValue('context.traits.email', ' ANN@x.io'), p.token('ann@x.io'), 'an email path is normalized as an email by default');
  assert.equal(defaults.storedValue('traits.phone', '+44 (7700) 900123'), p.token('+447700900123'));
});
