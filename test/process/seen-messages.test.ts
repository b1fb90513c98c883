import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyBatch } from '../../src/process/apply-batch.js';
import { messageKey } from '../../src/process/seen-messages.js';
import { MemoryProfiles, TEST_RULES, env } from '../helpers.js';

const ev = (messageId: string, sourceId = 'web') => env({ type: 'track', userId: 'u1', event: 'Clicked', messageId, sourceId });
const refs = (n: number, partition = 3) => Array.from({ length: n }, (_, i) => ({ partition, offset: i + 1 }));

test('with dedup, a batch applies each (source, messageId) once: repeats within it and of earlier batches are dropped', async () => {
  const p = new MemoryProfiles();
  const first = [ev('a'), ev('b'), ev('a'), ev('a', 'app')];
  const one = await applyBatch(p.store, first, new Map(), TEST_RULES, {}, { refs: refs(4), dedup: { at: 1000 } });
  assert.equal(one.duplicates, 1, 'the second web:a');
  const two = await applyBatch(p.store, [ev('b'), ev('c'), ev('a', 'app')], new Map(), TEST_RULES, {}, { refs: refs(3), dedup: { at: 2000 } });
  assert.equal(two.duplicates, 2);
  assert.equal((await p.docOf('user_id:u1'))?.eventCount, 4, 'a, b, app:a, c');
  assert.deepEqual(await p.store.seenMessages([[3, messageKey('web', 'a')], [3, messageKey('web', 'c')], [3, messageKey('web', 'z')]]), new Set([messageKey('web', 'a'), messageKey('web', 'c')]));
});

test('without dedup (a log that drops repeats at append), nothing is recorded and nothing dropped', async () => {
  const p = new MemoryProfiles();
  const out = await applyBatch(p.store, [ev('a'), ev('a')], new Map(), TEST_RULES, {}, { refs: refs(2) });
  assert.equal(out.duplicates, 0);
  assert.equal((await p.docOf('user_id:u1'))?.eventCount, 2);
  assert.deepEqual(await p.store.seenMessages([[3, messageKey('web', 'a')]]), new Set());
});

test('message keys tell sources and ids apart and do not collide on the separator', () => {
  assert.notEqual(messageKey('a', 'bc'), messageKey('ab', 'c'));
  assert.equal(messageKey('web', 'x').length, 22);
  assert.equal(messageKey('web', 'x'), messageKey('web', 'x'));
});
