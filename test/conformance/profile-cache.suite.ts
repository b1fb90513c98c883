import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProfileCache } from '../../src/ports/profile-cache.js';

/** What every ProfileCache adapter must do. `make` returns a fresh, empty cache. */
export function profileCacheConformance(name: string, make: () => Promise<ProfileCache>) {
  async function withCache(fn: (c: ProfileCache) => Promise<void>) {
    const c = await make();
    try {
      await fn(c);
    } finally {
      await c.close();
    }
  }

  test(`${name}: a miss gives a token; filling with it makes a hit`, () =>
    withCache(async (c) => {
      const miss = await c.get('user_id:42');
      assert.equal(miss.value, undefined);
      await c.fill('user_id:42', miss.token, '{"a":1}');
      assert.equal((await c.get('user_id:42')).value, '{"a":1}');
      assert.equal((await c.get('user_id:43')).value, undefined, 'keys are separate');
    }));

  test(`${name}: a fill begun before an invalidation is refused; one begun after is kept`, () =>
    withCache(async (c) => {
      const before = await c.get('k');
      await c.invalidate(['k']); // a processor committed a change to this profile
      await c.fill('k', before.token, 'old');
      assert.equal((await c.get('k')).value, undefined, 'the value read before the commit never lands');
      const after = await c.get('k');
      await c.fill('k', after.token, 'new');
      assert.equal((await c.get('k')).value, 'new');
      await c.invalidate(['k']);
      assert.equal((await c.get('k')).value, undefined, 'invalidation drops the value');
    }));

  test(`${name}: clear drops every value and refuses fills begun before`, () =>
    withCache(async (c) => {
      const t1 = await c.get('a');
      await c.fill('a', t1.token, '1');
      const t2 = await c.get('b');
      await c.clear();
      await c.fill('b', t2.token, '2');
      assert.equal((await c.get('a')).value, undefined);
      assert.equal((await c.get('b')).value, undefined);
    }));

  test(`${name}: many keys at once, with any characters`, () =>
    withCache(async (c) => {
      const keys = Array.from({ length: 1200 }, (_, i) => `email:${i}:ü '"*?[]`);
      for (const k of keys) await c.fill(k, (await c.get(k)).token, k);
      assert.equal((await c.get(keys[7]!)).value, keys[7]);
      await c.invalidate(keys);
      for (const k of [keys[0]!, keys[600]!, keys[1199]!]) assert.equal((await c.get(k)).value, undefined);
    }));
}
