import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lagOf } from '../src/process/processor.js';

test('lag: events between positions and ends; seconds only while behind', () => {
  const now = 10_000;
  assert.deepEqual(lagOf([5, 1, 9], { positions: [5, 1, 9], newestAppliedMs: 9_000 }, now), { events: 0, seconds: 0 });
  assert.deepEqual(lagOf([7, 3, 9], { positions: [5, 1, 9], newestAppliedMs: 9_000 }, now), { events: 4, seconds: 1 });
  // A partition the processor has never reported counts from offset 1.
  assert.deepEqual(lagOf([7, 3], { positions: [7], newestAppliedMs: 0 }, now), { events: 2, seconds: 0 });
});

test('lag: offsets with gaps (a stride) are divided into an estimate, and anything behind counts', () => {
  const now = 10_000;
  assert.deepEqual(lagOf([4096, 1], { positions: [1024, 1], newestAppliedMs: 9_000 }, now, 1024), { events: 3, seconds: 1 });
  assert.deepEqual(lagOf([2048], { positions: [2047], newestAppliedMs: 9_000 }, now, 1024), { events: 1, seconds: 1 });
  assert.deepEqual(lagOf([2048], { positions: [2048], newestAppliedMs: 9_000 }, now, 1024), { events: 0, seconds: 0 });
});
