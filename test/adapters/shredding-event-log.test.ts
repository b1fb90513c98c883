import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ShreddingEventLog } from '../../src/adapters/shredding-event-log.js';
import { SqliteEventLog } from '../../src/adapters/sqlite/event-log.js';
import { SqliteSubjectKeys } from '../../src/adapters/sqlite/subject-keys.js';
import type { AppendOutcome, AppendRecord, EventLog } from '../../src/ports/event-log.js';
import { eventLogConformance } from '../conformance/event-log.suite.js';
import { tempDir } from '../helpers.js';

const dirs: (() => void)[] = [];
after(() => dirs.forEach((c) => c()));

/** The suite's records name no one: give each one a subject (its source) so every entry is encrypted. */
class EveryEntryEncrypted extends ShreddingEventLog {
  override append(records: readonly AppendRecord[]): Promise<AppendOutcome[]> {
    return super.append(records.map((r) => ({ ...r, subject: r.subject ?? `userId:${r.sourceId}` })));
  }
}

const opened = new Map<EventLog, { dir: string; dedupWindowMs: number }>();
const open = async (dir: string, partitions: number, dedupWindowMs: number, now?: () => number) =>
  new EveryEntryEncrypted(await SqliteEventLog.open({ dir, partitions, dedupWindowMs, sync: 'normal', maxPendingEvents: 10_000, writer: 'inline', ...(now ? { now } : {}) }), new SqliteSubjectKeys({ dir }));
eventLogConformance(
  'shredding over sqlite',
  async ({ partitions, dedupWindowMs, now }) => {
    const { dir, cleanup } = tempDir();
    dirs.push(cleanup);
    const log = await open(dir, partitions, dedupWindowMs, now);
    opened.set(log, { dir, dedupWindowMs });
    return log;
  },
  {
    controllableClock: true,
    reopen: async (log) => {
      const o = opened.get(log)!;
      await log.close();
      return open(o.dir, 99, o.dedupWindowMs);
    },
  },
);

const rec = (partition: number, messageId: string, who: object): AppendRecord => ({ partition, sourceId: 's', messageId, receivedAtMs: 1, payload: JSON.stringify({ messageId, ...who, traits: { email: 'secret@example.io' } }) });

test('shredding: entries are encrypted at rest; destroying a subject’s key makes theirs unreadable and readers move past them', async () => {
  const { dir, cleanup } = tempDir();
  dirs.push(cleanup);
  const log = new ShreddingEventLog(await SqliteEventLog.open({ dir, partitions: 1, dedupWindowMs: 60_000, sync: 'normal', maxPendingEvents: 1000, writer: 'inline' }), new SqliteSubjectKeys({ dir }));
  try {
    await log.append([rec(0, 'a1', { userId: 'ann' }), rec(0, 'a2', { anonymousId: 'ann-phone' }), rec(0, 'b1', { userId: 'bob' }), rec(0, 'n1', {})]);
    await log.append([rec(0, 'a3', { userId: 'ann' }), rec(0, 'a4', { userId: 'ann' })]);
    const all = await log.read(0, 0, 100);
    assert.deepEqual(all.map((e) => (JSON.parse(e.payload) as { messageId: string }).messageId), ['a1', 'a2', 'b1', 'n1', 'a3', 'a4']);
    const bytes = () => ['log.db', 'log.db-wal'].map((f) => join(dir, f)).filter((f) => existsSync(f)).map((f) => readFileSync(f).toString('latin1')).join('');
    assert.ok(bytes().includes('{"messageId":"n1","traits"'), 'the entry that names no one is in clear');
    for (const id of ['a1', 'a2', 'b1', 'a3', 'a4']) assert.ok(!bytes().includes(`{"messageId":"${id}"`), `${id} is encrypted`);
    assert.ok(!bytes().includes('"userId":"ann"') && !bytes().includes('ann-phone'));

    assert.equal(await log.shred(['userId:ann', 'anonymousId:ann-phone', 'userId:nobody']), 2);
    assert.deepEqual((await log.read(0, 0, 100)).map((e) => (JSON.parse(e.payload) as { messageId: string }).messageId), ['b1', 'n1']);
    // A read that starts inside a shredded run reads on to the next readable entry, or to the end.
    assert.deepEqual((await log.read(0, all[4]!.offset, 100)).length, 0, 'the last entries were hers: nothing, the end');
    assert.deepEqual((await log.read(0, all[0]!.offset, 1)).map((e) => e.offset), [all[2]!.offset]);
    const keys = ['keys.db', 'keys.db-wal'].map((f) => join(dir, f)).filter((f) => existsSync(f)).map((f) => readFileSync(f));
    assert.ok(keys.length > 0);
    // New events of the same subject get a new key (an erased person is suppressed before this; here the log alone).
    await log.append([rec(0, 'a5', { userId: 'ann' })]);
    assert.deepEqual((await log.read(0, 0, 100)).map((e) => (JSON.parse(e.payload) as { messageId: string }).messageId), ['b1', 'n1', 'a5']);
  } finally {
    await log.close();
  }
});
