import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { SqliteEventLog } from '../../src/adapters/sqlite/event-log.js';
import type { EventLog } from '../../src/ports/event-log.js';
import { eventLogConformance } from '../conformance/event-log.suite.js';
import { tempDir } from '../helpers.js';

const dirs: (() => void)[] = [];
after(() => dirs.forEach((c) => c()));

for (const writer of ['inline', 'thread'] as const) {
  const opened = new Map<EventLog, { dir: string; dedupWindowMs: number }>();
  eventLogConformance(
    `sqlite (${writer} writer)`,
    async ({ partitions, dedupWindowMs, now }) => {
      const { dir, cleanup } = tempDir();
      dirs.push(cleanup);
      const log = await SqliteEventLog.open({ dir, partitions, dedupWindowMs, sync: 'normal', maxPendingEvents: 10_000, writer, ...(now ? { now } : {}) });
      opened.set(log, { dir, dedupWindowMs });
      return log;
    },
    {
      // A clock cannot be handed to another thread; the window logic is the same code either way.
      controllableClock: writer === 'inline',
      reopen: async (log) => {
        const o = opened.get(log)!;
        await log.close();
        return SqliteEventLog.open({ dir: o.dir, partitions: 99, dedupWindowMs: o.dedupWindowMs, sync: 'normal', maxPendingEvents: 10_000, writer });
      },
    },
  );
}

test('sqlite: a reader without a writer sees committed appends and their end offsets', async () => {
  const { dir, cleanup } = tempDir();
  dirs.push(cleanup);
  const writer = await SqliteEventLog.open({ dir, partitions: 2, dedupWindowMs: 60_000, sync: 'normal', maxPendingEvents: 100, writer: 'thread' });
  const reader = new SqliteEventLog({ dir, partitions: 2, dedupWindowMs: 60_000, sync: 'normal', maxPendingEvents: 100, writer: 'none' });
  try {
    await writer.append([{ partition: 1, sourceId: 's', messageId: 'a', receivedAtMs: 1, payload: '{}' }]);
    assert.deepEqual(await reader.endOffsets(), [1, 2]);
    assert.equal((await reader.read(1, 1, 10)).length, 1);
    await assert.rejects(reader.append([{ partition: 0, sourceId: 's', messageId: 'b', receivedAtMs: 1, payload: '{}' }]));
  } finally {
    await reader.close();
    await writer.close();
  }
});

test('sqlite: the log writer checkpoints its WAL from a thread of its own, keeping only a distant backstop on the appending thread', async () => {
  const { dir, cleanup } = tempDir();
  dirs.push(cleanup);
  const log = await SqliteEventLog.open({ dir, partitions: 2, dedupWindowMs: 60_000, sync: 'normal', maxPendingEvents: 10_000, writer: 'inline' });
  const writer = (log as unknown as { inline: { checkpointedFrames: number; db: { pragma(q: string, o?: object): unknown } } }).inline;
  assert.equal(writer.db.pragma('wal_autocheckpoint', { simple: true }), 4000);
  // Far fewer pages than the backstop: only the thread can have checkpointed them.
  for (let i = 0; i < 20; i++) {
    await log.append(Array.from({ length: 20 }, (_, j) => ({ partition: j % 2, sourceId: 's', messageId: `m-${i}-${j}`, receivedAtMs: 1, payload: `{"pad":"${'x'.repeat(500)}"}` })));
  }
  const deadline = Date.now() + 5000;
  while (writer.checkpointedFrames === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(writer.checkpointedFrames > 0, 'the thread checkpointed the WAL');
  await log.close();
  const again = await SqliteEventLog.open({ dir, partitions: 2, dedupWindowMs: 60_000, sync: 'normal', maxPendingEvents: 10_000, writer: 'inline' });
  try {
    assert.deepEqual(await again.endOffsets(), [201, 201], 'everything appended is there after the close');
  } finally {
    await again.close();
  }
});
