import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AppendRecord, EventLog } from '../../src/ports/event-log.js';

/**
 * What every EventLog adapter must do. `make` returns a fresh, empty log that accepts at most
 * 10,000 pending events.
 */
export function eventLogConformance(
  name: string,
  make: (opts: { partitions: number; dedupWindowMs: number; now?: () => number }) => Promise<EventLog>,
  caps: {
    controllableClock: boolean;
    reopen?: (log: EventLog) => Promise<EventLog>;
    /** Another writer on the same log (another collector process), where the engine allows one. */
    secondWriter?: (log: EventLog) => Promise<EventLog>;
  },
) {
  const { reopen } = caps;
  const rec = (partition: number, messageId: string, sourceId = 's1'): AppendRecord => ({ partition, sourceId, messageId, receivedAtMs: Date.now(), payload: JSON.stringify({ messageId }) });
  /** A partition up to its end offset, as a consumer reads it: a read may answer with less than is there. */
  const readAll = async (log: EventLog, partition: number) => {
    const end = (await log.endOffsets())[partition] ?? 0;
    const out: Awaited<ReturnType<EventLog['read']>> = [];
    let from = 0;
    while (from < end) {
      const got = await log.read(partition, from, 10_000);
      if (got.length === 0) break;
      out.push(...got);
      from = got[got.length - 1]!.offset + 1;
    }
    return out;
  };

  test(`${name}: appends are readable in order per partition with increasing offsets`, async () => {
    const log = await make({ partitions: 3, dedupWindowMs: 60_000 });
    try {
      const out = await log.append([rec(0, 'a'), rec(1, 'b'), rec(0, 'c')]);
      assert.deepEqual(out, ['appended', 'appended', 'appended']);
      const p0 = await log.read(0, 0, 10);
      assert.deepEqual(p0.map((e) => JSON.parse(e.payload).messageId), ['a', 'c']);
      assert.ok(p0[1]!.offset > p0[0]!.offset);
      const ends = await log.endOffsets();
      assert.equal(ends.length, 3);
      assert.equal(ends[0], p0[1]!.offset + 1);
      assert.deepEqual(await log.read(0, p0[1]!.offset + 1, 10), []);
      assert.deepEqual((await log.read(0, p0[1]!.offset, 10)).map((e) => e.offset), [p0[1]!.offset]);
      assert.equal((await log.read(0, 0, 1)).length, 1, 'max is honoured');
      assert.equal((await log.read(2, 0, 10)).length, 0);
    } finally {
      await log.close();
    }
  });

  test(`${name}: the same (source, messageId) is appended once, within one call and across calls`, async () => {
    const log = await make({ partitions: 2, dedupWindowMs: 60_000 });
    try {
      assert.deepEqual(await log.append([rec(0, 'x'), rec(0, 'x'), rec(1, 'x', 's2')]), ['appended', 'duplicate', 'appended']);
      assert.deepEqual(await log.append([rec(1, 'x')]), ['duplicate']);
      const concurrent = await Promise.all([log.append([rec(0, 'y')]), log.append([rec(0, 'y')])]);
      assert.deepEqual(concurrent.flat().sort(), ['appended', 'duplicate']);
      assert.equal((await log.read(0, 0, 100)).length, 2);
    } finally {
      await log.close();
    }
  });

  if (caps.controllableClock) test(`${name}: duplicates are remembered for the whole window, then forgotten`, async () => {
    let now = 1_000_000;
    const log = await make({ partitions: 1, dedupWindowMs: 1000, now: () => now });
    try {
      await log.append([rec(0, 'w')]);
      now += 900;
      await log.append([rec(0, 'other')]);
      assert.deepEqual(await log.append([rec(0, 'w')]), ['duplicate'], 'still within the window');
      now += 1200;
      await log.append([rec(0, 'tick')]);
      assert.deepEqual(await log.append([rec(0, 'w')]), ['duplicate'], 'seen 2.1 s ago: within two generations');
      now += 2500;
      await log.append([rec(0, 'tick2')]);
      now += 1100;
      assert.deepEqual(await log.append([rec(0, 'w')]), ['appended'], 'long past the window');
    } finally {
      await log.close();
    }
  });

  test(`${name}: many appends at once are all readable, in order, whatever the log packs together`, async () => {
    const log = await make({ partitions: 2, dedupWindowMs: 60_000 });
    try {
      const big = 'x'.repeat(3000);
      const calls = Array.from({ length: 30 }, (_, c) => Array.from({ length: 100 }, (_, i) => ({ ...rec(i % 2, `m-${c}-${i}`), payload: JSON.stringify({ messageId: `m-${c}-${i}`, pad: c % 3 === 0 ? big : '' }) })));
      const outcomes = await Promise.all(calls.map((records) => log.append(records)));
      assert.ok(outcomes.flat().every((o) => o === 'appended'));
      for (const p of [0, 1]) {
        const got = await readAll(log, p);
        assert.deepEqual(
          got.map((e) => JSON.parse(e.payload).messageId),
          calls.flatMap((records) => records.filter((r) => r.partition === p).map((r) => r.messageId)),
        );
        for (let i = 1; i < got.length; i++) assert.ok(got[i]!.offset > got[i - 1]!.offset);
        assert.equal((await log.endOffsets())[p], got[got.length - 1]!.offset + 1);
        // Reading from the middle of what was appended together starts exactly there.
        const mid = got[777]!;
        assert.deepEqual((await log.read(p, mid.offset, 3)).map((e) => e.payload), got.slice(777, 780).map((e) => e.payload));
      }
    } finally {
      await log.close();
    }
  });

  test(`${name}: a full queue is refused with MOSAIC_OVERLOADED_LOG, and nothing of it is written`, async () => {
    const log = await make({ partitions: 1, dedupWindowMs: 60_000 });
    try {
      const big = Array.from({ length: 10_001 }, (_, i) => rec(0, `big-${i}`));
      await assert.rejects(log.append(big), (e: unknown) => (e as { code?: string }).code === 'MOSAIC_OVERLOADED_LOG');
      assert.equal((await log.read(0, 0, 10)).length, 0);
    } finally {
      await log.close();
    }
  });

  test(`${name}: wakes listeners after a durable append`, async () => {
    const log = await make({ partitions: 1, dedupWindowMs: 60_000 });
    try {
      let woke = 0;
      const off = log.onAppend(() => woke++);
      await log.append([rec(0, 'a')]);
      assert.equal(woke, 1);
      off();
      await log.append([rec(0, 'b')]);
      assert.equal(woke, 1);
    } finally {
      await log.close();
    }
  });

  if (caps.secondWriter) {
    const second = caps.secondWriter;
    test(`${name}: concurrent writers: every event once, in one increasing order per partition`, async () => {
      const a = await make({ partitions: 2, dedupWindowMs: 60_000 });
      const b = await second(a);
      try {
        const batch = (w: string, i: number) => Array.from({ length: 50 }, (_, k) => rec(k % 2, `${w}-${i}-${k}`));
        await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).append(batch(i % 2 ? 'a' : 'b', i))));
        // Both write the same messages too: each is stored once.
        const twice = await Promise.all([a.append([rec(0, 'same')]), b.append([rec(0, 'same')])]);
        assert.deepEqual(twice.flat().sort(), ['appended', 'duplicate']);
        for (const log of [a, b]) {
          const p0 = await readAll(log, 0);
          const p1 = await readAll(log, 1);
          assert.equal(p0.length + p1.length, 1001);
          for (const p of [p0, p1]) for (let i = 1; i < p.length; i++) assert.ok(p[i]!.offset > p[i - 1]!.offset);
          assert.equal(new Set(p0.map((e) => e.payload)).size, p0.length, 'no event twice');
        }
      } finally {
        await b.close();
        await a.close();
      }
    });
  }

  if (reopen) {
    test(`${name}: survives reopening with offsets and dedup intact`, async () => {
      const log = await make({ partitions: 2, dedupWindowMs: 60_000 });
      await log.append([rec(0, 'a'), rec(1, 'b')]);
      const ends = await log.endOffsets();
      const again = await reopen(log);
      try {
        assert.deepEqual(await again.endOffsets(), ends);
        if (again.capabilities.dedup === 'event') {
          assert.deepEqual(await again.append([rec(0, 'a'), rec(0, 'c')]), ['duplicate', 'appended']);
        } else {
          // A repeat is dropped at append when it comes alone; in company, consumers drop it.
          assert.deepEqual(await again.append([rec(0, 'a')]), ['duplicate']);
          assert.deepEqual(await again.append([rec(0, 'c')]), ['appended']);
        }
        assert.equal((await again.read(0, 0, 10)).length, 2);
      } finally {
        await again.close();
      }
    });
  }
}
