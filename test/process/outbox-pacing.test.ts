import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SqliteEventLog } from '../../src/adapters/sqlite/event-log.js';
import { SqliteProfileStore } from '../../src/adapters/sqlite/profile-store.js';
import { loadConfig } from '../../src/config.js';
import type { Envelope } from '../../src/core/envelope.js';
import { appendEnvelopes } from '../../src/process/emit.js';
import { Processor } from '../../src/process/processor.js';
import { identityRules, profileModel } from '../../src/process/profile-model.js';
import { tempDir, until } from '../helpers.js';

let seq = 0;
const identify = (userId: string): string =>
  JSON.stringify({ type: 'identify', userId, traits: { plan: 'pro' }, messageId: `m-${++seq}`, timestamp: new Date().toISOString(), receivedAt: new Date().toISOString(), sourceId: 'src_test' } satisfies Partial<Envelope>);

/** A processor over its own log and store whose appends of audience events are recorded. */
async function setup(outboxIntervalMs: number) {
  const { dir, cleanup } = tempDir();
  const config = loadConfig({ env: {}, cwd: dir, overrides: { dataDir: dir, logLevel: 'silent', audiences: [{ name: 'pros', rule: { trait: 'plan', op: 'eq', value: 'pro' } }] } });
  const log = await SqliteEventLog.open({ dir, partitions: 2, dedupWindowMs: 60_000, sync: 'normal', maxPendingEvents: 10_000, writer: 'inline' });
  const store = new SqliteProfileStore({ dir: ':memory:' });
  const appends: string[][] = [];
  const processor = new Processor(log, store, {
    batchSize: 100,
    pollMs: 60_000,
    rules: await identityRules(config, store),
    model: profileModel(config),
    emit: async (pending) => void appends.push(pending),
    outboxIntervalMs,
  });
  await processor.init();
  /** Appends `userId`'s identify and applies it: one profile entering the audience. */
  const enter = async (userId: string) => {
    await appendEnvelopes(log, [identify(userId)]);
    assert.equal(await processor.runOnce(), 1);
  };
  /** The distinct profiles whose events the i-th append carried. */
  const users = (i: number) => new Set(appends[i]!.map((p) => (JSON.parse(p) as unknown[])[2])).size;
  return {
    processor,
    store,
    appends,
    enter,
    users,
    close: async () => {
      await processor.stop();
      await store.close();
      await log.close();
      cleanup();
    },
  };
}

test('processor: audience events of the batches within outboxIntervalMs of an append share the next one; waiting for them appends at once', async () => {
  const t = await setup(60_000);
  try {
    await t.enter('ann');
    await until("ann's audience event appended", async () => t.appends.length === 1);
    await t.enter('bob');
    await t.enter('cy');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(t.appends.length, 1, 'no second append within the interval');
    assert.equal((await t.store.readOutbox(10)).length, 2, "bob's and cy's events wait in the outbox");

    const started = Date.now();
    await t.processor.outboxFlushed();
    assert.ok(Date.now() - started < 5000, 'outboxFlushed did not wait out the interval');
    assert.equal(t.appends.length, 2);
    assert.equal(t.users(1), 2, "bob's and cy's events in one append");
    assert.equal((await t.store.readOutbox(10)).length, 0);
  } finally {
    await t.close();
  }
});

test('processor: audience events held back by the interval are appended when it ends, with no other batch to trigger it', async () => {
  const t = await setup(200);
  try {
    await t.enter('ann');
    await until("ann's audience event appended", async () => t.appends.length === 1);
    await t.enter('bob');
    await until("bob's audience event appended on the timer", async () => t.appends.length === 2);
    assert.equal((await t.store.readOutbox(10)).length, 0);
  } finally {
    await t.close();
  }
});
