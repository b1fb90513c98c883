import { test } from 'node:test';
import assert from 'node:assert/strict';
import { correctTimestamp, toEnvelope } from '../../src/core/envelope.js';
import { partitionOf } from '../../src/core/partition.js';

test('timestamp is corrected for client clock skew as Segment does', () => {
  const receivedAt = Date.parse('2026-11-21T12:00:00.000Z');
  // Client clock 1 hour fast: says it happened at 13:00:00 and sent at 13:00:05.
  const r = correctTimestamp(receivedAt, '2026-11-21T13:00:00.000Z', '2026-11-21T13:00:05.000Z');
  assert.equal(r.timestamp, '2026-11-21T11:59:55.000Z');
});

test('without sentAt the client timestamp is kept; without timestamp receivedAt is used', () => {
  const receivedAt = Date.parse('2026-11-21T12:00:00.000Z');
  assert.equal(correctTimestamp(receivedAt, '2020-01-01T00:00:00Z').timestamp, '2020-01-01T00:00:00.000Z');
  assert.equal(correctTimestamp(receivedAt).timestamp, '2026-11-21T12:00:00.000Z');
});

test('toEnvelope adds server fields, keeps originalTimestamp, strips writeKey and client-set server fields', () => {
  const e = toEnvelope(
    { userId: 42, event: 'x', timestamp: '2026-11-21T13:00:00.000Z', writeKey: 'secret', receivedAt: 'forged', sourceId: 'forged', _metadata: { a: 1 } },
    { type: 'track', receivedAtMs: Date.parse('2026-11-21T12:00:00.000Z'), receivedAt: '2026-11-21T12:00:00.000Z', sourceId: 'src_1', batchSentAt: '2026-11-21T13:00:01.000Z', newMessageId: () => 'gen-1' },
  );
  assert.equal(e.userId, '42');
  assert.equal(e.messageId, 'gen-1');
  assert.equal(e.originalTimestamp, '2026-11-21T13:00:00.000Z');
  assert.equal(e.timestamp, '2026-11-21T11:59:59.000Z');
  assert.equal(e.receivedAt, '2026-11-21T12:00:00.000Z');
  assert.equal(e.sourceId, 'src_1');
  assert.equal(e.writeKey, undefined);
  assert.equal(e._metadata, undefined);
});

test('partitioning is stable and spreads identities', () => {
  assert.equal(partitionOf('user-1', 8), partitionOf('user-1', 8));
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) seen.add(partitionOf(`user-${i}`, 8));
  assert.equal(seen.size, 8);
});

test('RudderStack form: originalTimestamp is the event time, and an empty userId means none', () => {
  const e = toEnvelope(
    { userId: '', anonymousId: 'a', originalTimestamp: '2026-11-21T13:00:00.000Z', sentAt: '2026-11-21T13:00:02.000Z' },
    { type: 'page', receivedAtMs: Date.parse('2026-11-21T12:00:00.000Z'), receivedAt: '2026-11-21T12:00:00.000Z', sourceId: 's', newMessageId: () => 'g' },
  );
  assert.equal(e.userId, undefined);
  assert.equal(e.anonymousId, 'a');
  assert.equal(e.originalTimestamp, '2026-11-21T13:00:00.000Z');
  assert.equal(e.timestamp, '2026-11-21T11:59:58.000Z');
});
