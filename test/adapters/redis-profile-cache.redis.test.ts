import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RedisProfileCache } from '../../src/adapters/redis/profile-cache.js';
import { profileCacheConformance } from '../conformance/profile-cache.suite.js';
import { REDIS_URL, redisAvailable, uniqueName } from '../services.js';

const available = await redisAvailable();

if (available !== true) {
  test('redis profile cache', { skip: available.skip }, () => undefined);
} else {
  const prefixes: string[] = [];
  after(async () => {
    // Remove this run's keys.
    const r = new Redis(REDIS_URL);
    for (const p of prefixes) {
      let cursor = '0';
      do {
        const [next, keys] = await r.scan(cursor, 'MATCH', `${p}:*`, 'COUNT', 1000);
        if (keys.length) await r.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    }
    r.disconnect();
  });
  const make = async (opts: { ttlMs?: number } = {}) => {
    const prefix = uniqueName('mosaic_test');
    prefixes.push(prefix);
    const c = new RedisProfileCache({ url: REDIS_URL, prefix, ...opts });
    assert.ok(await c.connected());
    return c;
  };
  profileCacheConformance('redis', () => make());

  test('redis: values expire after the configured time', async () => {
    const c = await make({ ttlMs: 150 });
    try {
      await c.fill('k', (await c.get('k')).token, 'v');
      assert.equal((await c.get('k')).value, 'v');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await c.get('k')).value, undefined);
    } finally {
      await c.close();
    }
  });

  test('redis: an unreachable server fails fast, so reads fall back to the store', async () => {
    const c = new RedisProfileCache({ url: 'redis://127.0.0.1:1' });
    try {
      const started = Date.now();
      await assert.rejects(c.get('k'));
      await assert.rejects(c.invalidate(['k']));
      assert.ok(Date.now() - started < 1000, 'no waiting for a connection');
    } finally {
      await c.close();
    }
  });
}
