import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SqliteProfileStore } from '../../src/adapters/sqlite/profile-store.js';
import { loadConfig } from '../../src/config.js';
import type { Envelope } from '../../src/core/envelope.js';
import type { MembershipRecord, ProfileCommit, ProfileStore } from '../../src/ports/profile-store.js';
import { applyBatch, MembershipCache, PartCache } from '../../src/process/apply-batch.js';
import { identityRules, profileModel } from '../../src/process/profile-model.js';
import { tempDir } from '../helpers.js';

let seq = 0;
const identify = (userId: string, plan: string, anonymousId?: string): Envelope =>
  ({ type: 'identify', userId, ...(anonymousId ? { anonymousId } : {}), traits: { plan }, messageId: `m-${++seq}`, timestamp: new Date(Date.UTC(2026, 10, 1) + seq).toISOString(), receivedAt: new Date().toISOString(), sourceId: 'src_test' }) as Envelope;

test('membership cache: enter, exit and enter again across batches, a merge and a failed commit give what the store holds, as without the cache', async () => {
  const { dir, cleanup } = tempDir();
  const config = loadConfig({ env: {}, cwd: dir, overrides: { dataDir: dir, logLevel: 'silent', audiences: [{ name: 'pros', rule: { trait: 'plan', op: 'eq', value: 'pro' } }, { name: 'known', rule: { trait: 'plan', op: 'exists' } }] } });
  const model = profileModel(config);
  const run = async (cached: boolean) => {
    const store = new SqliteProfileStore({ dir: ':memory:' });
    const rules = await identityRules(config, store);
    const memberships = cached ? new MembershipCache(100) : undefined;
    const cache = new PartCache(100);
    let offset = 0;
    const apply = async (s: ProfileStore, events: Envelope[]) => (await applyBatch(s, events, new Map([[0, (offset += events.length) + 1]]), rules, model, { cache, ...(memberships ? { memberships } : {}) })).transitions;
    const seen: string[][] = [];
    const note = (t: MembershipRecord[]) => seen.push(t.map((x) => `${x.kind} ${x.audience}`).sort());
    note(await apply(store, [identify('ann', 'pro', 'a-1')]));
    note(await apply(store, [identify('ann', 'free')]));
    // A commit that fails leaves the store as it was: the cache must not remember what it did not commit.
    const failing = Object.create(store, { commit: { value: async (_: ProfileCommit) => Promise.reject(new Error('disk full')) } }) as ProfileStore;
    await assert.rejects(apply(failing, [identify('ann', 'pro')]), /disk full/);
    note(await apply(store, [identify('ann', 'pro')]));
    // bob's anonymous profile joins ann's: the merged-away profile leaves its audiences.
    note(await apply(store, [{ ...identify('bob-anon', 'pro'), userId: undefined, anonymousId: 'a-2' } as unknown as Envelope]));
    note(await apply(store, [identify('ann', 'pro', 'a-2')]));
    note(await apply(store, [identify('ann', 'free')]));
    const ids = [...(await store.scanClusters(undefined, 10))].map((c) => c.id);
    const held = await store.memberships(ids);
    await store.close();
    return { seen, held: Object.fromEntries([...held].map(([id, s]) => [id, [...s].sort()])) };
  };
  try {
    const plain = await run(false);
    const cached = await run(true);
    assert.deepEqual(plain.seen[0], ['entered known', 'entered pros']);
    assert.deepEqual(plain.seen[1], ['exited pros']);
    assert.deepEqual(plain.seen[2], ['entered pros'], 'the failed commit changed nothing');
    assert.deepEqual(plain.seen[5], ['exited pros']);
    assert.deepEqual(cached, plain);
  } finally {
    cleanup();
  }
});
