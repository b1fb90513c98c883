import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { jetstreamManager } from '@nats-io/jetstream';
import { NatsEventLog, type NatsEventLogOptions } from '../../src/adapters/nats/event-log.js';
import type { EventLog } from '../../src/ports/event-log.js';
import { eventLogConformance } from '../conformance/event-log.suite.js';
import { NATS_URL, natsConnection, uniqueName } from '../services.js';

const nc = await natsConnection();

if ('skip' in nc) {
  test('nats event log', { skip: nc.skip }, () => undefined);
} else {
  const jsm = await jetstreamManager(nc);
  const streams: string[] = [];
  after(async () => {
    for (const s of streams) await jsm.streams.delete(s).catch(() => undefined);
    await nc.close();
  });
  /** Options for a stream of this run's own (deleted afterwards). */
  const fresh = (partitions: number, dedupWindowMs: number): NatsEventLogOptions => {
    const name = uniqueName('mosaic_test').toUpperCase();
    streams.push(name);
    return { url: NATS_URL, stream: name, subjectPrefix: name.toLowerCase(), partitions, dedupWindowMs, maxPendingEvents: 10_000, storage: 'file' };
  };
  const opened = new Map<EventLog, NatsEventLogOptions>();

  eventLogConformance(
    'nats jetstream',
    async ({ partitions, dedupWindowMs }) => {
      const opts = fresh(partitions, dedupWindowMs);
      const log = await NatsEventLog.open(opts);
      opened.set(log, opts);
      return log;
    },
    {
      // The duplicate window is the server's clock.
      controllableClock: false,
      reopen: async (log) => {
        const opts = opened.get(log)!;
        await log.close();
        return NatsEventLog.open({ ...opts, partitions: 99 });
      },
      secondWriter: (log) => NatsEventLog.open(opened.get(log)!),
    },
  );

  test('nats jetstream: the stream has the configured duplicate window, subjects per partition and storage', async () => {
    const opts = fresh(4, 120_000);
    const log = await NatsEventLog.open(opts);
    try {
      const info = await jsm.streams.info(opts.stream!);
      assert.equal(info.config.duplicate_window, 120_000 * 1_000_000);
      assert.deepEqual(info.config.subjects, [`${opts.subjectPrefix}.*`]);
      assert.equal(info.config.storage, 'file');
      assert.equal(log.partitions, 4);
    } finally {
      await log.close();
    }
  });

  test('nats jetstream: a reader rewinds, skips ahead, and reads what was appended after it started', async () => {
    const log = await NatsEventLog.open(fresh(2, 60_000));
    const rec = (partition: number, messageId: string) => ({ partition, sourceId: 's', messageId, receivedAtMs: 1234, payload: JSON.stringify({ messageId }) });
    try {
      await log.append([rec(0, 'a'), rec(1, 'b'), rec(0, 'c'), rec(0, 'd')]);
      const first = await log.read(0, 1, 2);
      assert.deepEqual(first.map((e) => JSON.parse(e.payload).messageId), ['a', 'c']);
      assert.equal(first[0]!.receivedAtMs, 1234);
      assert.deepEqual((await log.read(0, first[1]!.offset + 1, 10)).map((e) => JSON.parse(e.payload).messageId), ['d']);
      await log.append([rec(0, 'e')]);
      const ends = await log.endOffsets();
      const e = await log.read(0, ends[0]! - 1, 10);
      assert.deepEqual(e.map((x) => JSON.parse(x.payload).messageId), ['e']);
      assert.deepEqual((await log.read(0, 1, 10)).map((x) => JSON.parse(x.payload).messageId), ['a', 'c', 'd', 'e'], 'rewound');
      assert.deepEqual((await log.read(0, first[1]!.offset + 1, 10)).map((x) => JSON.parse(x.payload).messageId), ['d', 'e'], 'rewound to the middle');
    } finally {
      await log.close();
    }
  });

  test('nats jetstream: a log in another process that reads a partition is woken by appends it did not make', async () => {
    const opts = fresh(1, 60_000);
    const writer = await NatsEventLog.open(opts);
    const reader = await NatsEventLog.open(opts);
    try {
      await writer.append([{ partition: 0, sourceId: 's', messageId: 'a', receivedAtMs: 1, payload: '{}' }]);
      const first = await reader.read(0, 1, 10);
      assert.equal(first.length, 1);
      const woken = new Promise<void>((resolve) => reader.onAppend(resolve));
      await writer.append([{ partition: 0, sourceId: 's', messageId: 'b', receivedAtMs: 2, payload: '{}' }]);
      await woken;
      assert.deepEqual((await reader.read(0, first[0]!.offset + 1, 10)).map((e) => e.receivedAtMs), [2]);
    } finally {
      await reader.close();
      await writer.close();
    }
  });

  test('nats jetstream: rewinding a reader whose buffer is full (a rolled-back batch) does not hang', async () => {
    const log = await NatsEventLog.open({ ...fresh(1, 60_000), maxPendingEvents: 20_000 });
    try {
      const rec = (i: number) => ({ partition: 0, sourceId: 's', messageId: `m${i}`, receivedAtMs: i, payload: `{"i":${i}}` });
      await log.append(Array.from({ length: 5000 }, (_, i) => rec(i)));
      assert.equal((await log.read(0, 1, 10)).length, 10);
      await new Promise((r) => setTimeout(r, 300)); // the consumer fills the buffer and waits for room
      const again = await log.read(0, 1, 10_000);
      assert.equal(again[0]!.receivedAtMs, 0, 'read again from the start');
      assert.ok(again.length >= 10);
      let all = again.length;
      let next = again[again.length - 1]!.offset + 1;
      while (all < 5000) {
        const more = await log.read(0, next, 10_000);
        assert.ok(more.length > 0);
        assert.equal(more[0]!.receivedAtMs, all, 'no message lost or repeated across the restart');
        all += more.length;
        next = more[more.length - 1]!.offset + 1;
      }
    } finally {
      await log.close();
    }
  });

  test('nats jetstream: events travel many to a message, each with its own receive time', async () => {
    const opts = fresh(2, 60_000);
    const log = await NatsEventLog.open(opts);
    try {
      const rec = (i: number) => ({ partition: i % 2, sourceId: 's', messageId: `m${i}`, receivedAtMs: 1000 + (i % 3), payload: JSON.stringify({ i }) });
      await log.append(Array.from({ length: 3000 }, (_, i) => rec(i)));
      // 1,500 events per partition: two messages each (at most STRIDE = 1,024 events per message).
      assert.equal((await jsm.streams.info(opts.stream!)).state.messages, 4);
      const p1 = await log.read(1, 1, 10_000);
      assert.equal(p1.length, 1500);
      assert.deepEqual(p1.slice(0, 3).map((e) => [JSON.parse(e.payload).i, e.receivedAtMs]), [[1, 1001], [3, 1000], [5, 1002]]);
      await assert.rejects(log.append([{ ...rec(1), messageId: 'nl', payload: '{"a":\n1}' }]), /raw newline/);
    } finally {
      await log.close();
    }
  });

  test('nats jetstream: a stream not made by this version is refused with a way out', async () => {
    const opts = fresh(2, 60_000);
    await jsm.streams.add({ name: opts.stream!, subjects: [`${opts.subjectPrefix}.*`], description: 'Mosaic event log; partitions=2' });
    await assert.rejects(NatsEventLog.open(opts), (e: unknown) => (e as { code?: string }).code === 'MOSAIC_CONFIG_INVALID' && /set log\.nats\.stream to a new name/.test((e as Error).message));
  });

  test('nats jetstream: an unreachable server is MOSAIC_LOG_UNAVAILABLE', async () => {
    await assert.rejects(NatsEventLog.open({ url: 'nats://127.0.0.1:1', partitions: 1, dedupWindowMs: 1000, maxPendingEvents: 10 }), (e: unknown) => (e as { code?: string }).code === 'MOSAIC_LOG_UNAVAILABLE');
  });
}
