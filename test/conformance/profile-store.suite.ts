import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProfileDoc } from '../../src/core/profile.js';
import type { ProfileStore } from '../../src/ports/profile-store.js';

const doc = (id: string, identities: string[], eventCount = 1): ProfileDoc => ({
  id, identities, traits: { plan: { v: 'pro', t: 1, m: 'm1' } }, firstSeen: 1, lastSeen: 2, eventCount, eventCounts: { A: eventCount }, typeCounts: { track: eventCount },
});

/** What every ProfileStore adapter must do. `make` returns a fresh, empty store. */
export function profileStoreConformance(name: string, make: () => Promise<ProfileStore>) {
  test(`${name}: commit writes profiles, identities and offsets together`, async () => {
    const s = await make();
    try {
      await s.commit({ upserts: [doc('p1', ['user_id:1', 'anonymous_id:a'])], deletes: [], identities: [['user_id:1', 'p1'], ['anonymous_id:a', 'p1']], offsets: new Map([[0, 5], [1, 3]]) });
      assert.deepEqual(await s.readOffsets(), new Map([[0, 5], [1, 3]]));
      assert.deepEqual(await s.lookupIdentities(['user_id:1', 'anonymous_id:a', 'user_id:none']), new Map([['user_id:1', 'p1'], ['anonymous_id:a', 'p1']]));
      assert.deepEqual((await s.getProfiles(['p1', 'p404'])).get('p1'), doc('p1', ['user_id:1', 'anonymous_id:a']));
      assert.equal((await s.getProfiles(['p1', 'p404'])).size, 1);
      assert.equal((await s.getProfileByIdentity('anonymous_id:a'))?.id, 'p1');
      assert.equal(await s.getProfileByIdentity('user_id:none'), undefined);
      assert.equal(await s.countProfiles(), 1);
    } finally {
      await s.close();
    }
  });

  test(`${name}: a merge deletes the absorbed profile and re-points its identities`, async () => {
    const s = await make();
    try {
      await s.commit({ upserts: [doc('p1', ['user_id:1']), doc('p2', ['anonymous_id:b'])], deletes: [], identities: [['user_id:1', 'p1'], ['anonymous_id:b', 'p2']], offsets: new Map([[0, 2]]) });
      await s.commit({ upserts: [doc('p1', ['user_id:1', 'anonymous_id:b'], 2)], deletes: ['p2'], identities: [['anonymous_id:b', 'p1']], offsets: new Map([[0, 3]]) });
      assert.equal(await s.countProfiles(), 1);
      assert.equal((await s.getProfileByIdentity('anonymous_id:b'))?.eventCount, 2);
      assert.equal((await s.readOffsets()).get(0), 3);
    } finally {
      await s.close();
    }
  });

  test(`${name}: a failing commit changes nothing`, async () => {
    const s = await make();
    try {
      await s.commit({ upserts: [doc('p1', ['user_id:1'])], deletes: [], identities: [['user_id:1', 'p1']], offsets: new Map([[0, 2]]) });
      const poison = { id: 'p2', get identities(): string[] { throw new Error('boom'); } } as unknown as ProfileDoc;
      await assert.rejects(s.commit({ upserts: [doc('p1', ['user_id:1'], 9), poison], deletes: [], identities: [], offsets: new Map([[0, 99]]) }));
      assert.equal((await s.readOffsets()).get(0), 2);
      assert.equal((await s.getProfileByIdentity('user_id:1'))?.eventCount, 1);
    } finally {
      await s.close();
    }
  });

  test(`${name}: meta values are stored, replaced, and survive reset`, async () => {
    const s = await make();
    try {
      assert.equal(await s.getMeta('k'), undefined);
      await s.setMeta('k', 'v1');
      await s.setMeta('k', 'v2');
      await s.reset();
      assert.equal(await s.getMeta('k'), 'v2');
    } finally {
      await s.close();
    }
  });

  test(`${name}: reset empties everything`, async () => {
    const s = await make();
    try {
      await s.commit({ upserts: [doc('p1', ['user_id:1'])], deletes: [], identities: [['user_id:1', 'p1']], offsets: new Map([[0, 2]]) });
      await s.reset();
      assert.equal(await s.countProfiles(), 0);
      assert.equal((await s.readOffsets()).size, 0);
      assert.equal((await s.lookupIdentities(['user_id:1'])).size, 0);
    } finally {
      await s.close();
    }
  });
}
