import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { PostgresProfileStore } from '../../src/adapters/postgres/profile-store.js';
import { profileStoreConformance } from '../conformance/profile-store.suite.js';
import { postgresDatabase } from '../services.js';

const db = await postgresDatabase();

if ('skip' in db) {
  test('postgres profile store', { skip: db.skip }, () => undefined);
} else {
  after(() => db.drop());
  let n = 0;
  // A fresh schema per store: the suite wants an empty store each time.
  profileStoreConformance('postgres', () => PostgresProfileStore.open({ url: db.url, schema: `store_${n++}`, poolSize: 4 }));

  test('postgres: processes opening one schema together migrate it once', async () => {
    const stores = await Promise.all(Array.from({ length: 4 }, () => PostgresProfileStore.open({ url: db.url, schema: 'together', poolSize: 2 })));
    try {
      await stores[0]!.commit({ offsets: new Map([[0, 7]]) });
      assert.equal((await stores[3]!.readOffsets()).get(0), 7);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  test('postgres: concurrent serializable batches on the same profile lose no update (retried, not overwritten)', async () => {
    const stores = await Promise.all([0, 1, 2, 3].map(() => PostgresProfileStore.open({ url: db.url, schema: 'concurrent', poolSize: 4 })));
    try {
      const doc = { id: 'user_id:1', identities: [], traits: {}, firstSeen: 1, lastSeen: 1, eventCount: 0, eventCounts: {}, typeCounts: {} };
      await stores[0]!.commit({ parts: [doc] });
      // 4 writers x 10 read-modify-write batches of one counter, as processors of different partitions would.
      await Promise.all(stores.map(async (s) => {
        for (let i = 0; i < 10; i++) {
          await s.transactional!(async (tx) => {
            const part = (await tx.getParts(['user_id:1'])).get('user_id:1')!;
            part.eventCount += 1;
            await new Promise((r) => setTimeout(r, Math.random() * 3)); // widen the race
            await tx.commit({ parts: [part] });
          });
        }
      }));
      assert.equal((await stores[0]!.getParts(['user_id:1'])).get('user_id:1')!.eventCount, 40);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  test('postgres: a schema name that is not a plain identifier is refused', async () => {
    await assert.rejects(PostgresProfileStore.open({ url: db.url, schema: 'x; DROP TABLE y' }), /invalid PostgreSQL schema name/);
  });

  test('postgres: a commit of 5,000 profiles and memberships, pages in byte order through the primary key', async () => {
    const s = await PostgresProfileStore.open({ url: db.url, schema: 'bulk', poolSize: 2 });
    try {
      const ids = Array.from({ length: 5000 }, (_, i) => `p${i}`);
      await s.commit({
        clusters: ids.map((id) => ({ id, members: [`user_id:${id}`], last: { t: 1, m: 'm' }, edges: [], lineage: [] })),
        nodes: ids.map((id) => [`user_id:${id}`, id] as [string, string]),
        memberships: ids.map((id, i) => ({ audience: i % 2 ? 'odd' : 'even', profileId: id, kind: 'entered' as const, at: i })),
      });
      assert.equal(await s.countProfiles(), 5000);
      assert.deepEqual(await s.audienceCounts(), new Map([['even', 2500], ['odd', 2500]]));
      assert.equal((await s.scanClusters('p4998', 3)).map((c) => c.id).join(), 'p4999,p5,p50', 'byte order, as the SQLite store');
      assert.deepEqual(await s.audienceMembers('odd', 'p997', 2), { members: [{ profileId: 'p999', since: 999 }] });
      // Pages and member lists must stay index range scans at 10M profiles, not sorts.
      const c = new pg.Client({ connectionString: db.url, options: '-c search_path=bulk' });
      await c.connect();
      try {
        await c.query('ANALYZE'); // as autovacuum would after a bulk load
        const plan = async (sql: string) => (await c.query(`EXPLAIN ${sql}`)).rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
        assert.match(await plan(`SELECT doc FROM profiles WHERE id > 'p1' ORDER BY id LIMIT 10`), /Index Scan using profiles_pkey/);
        assert.doesNotMatch(await plan(`SELECT doc FROM profiles WHERE id > 'p1' ORDER BY id LIMIT 10`), /Sort/);
        assert.match(await plan(`SELECT profile_id, since FROM audience_members WHERE audience = 'odd' AND profile_id > 'p1' ORDER BY profile_id LIMIT 10`), /Index Scan using audience_members_pkey/);
      } finally {
        await c.end();
      }
    } finally {
      await s.close();
    }
  });

  test('postgres: leaving and coming back within one commit restarts membership', async () => {
    const s = await PostgresProfileStore.open({ url: db.url, schema: 'rejoin', poolSize: 2 });
    try {
      await s.commit({ memberships: [{ audience: 'a', profileId: 'p', kind: 'entered', at: 1 }] });
      await s.commit({ memberships: [{ audience: 'a', profileId: 'p', kind: 'exited', at: 2 }, { audience: 'a', profileId: 'p', kind: 'entered', at: 3 }] });
      assert.deepEqual(await s.audienceMembers('a', undefined, 10), { members: [{ profileId: 'p', since: 3 }] });
      await s.commit({ memberships: [{ audience: 'a', profileId: 'p', kind: 'entered', at: 4 }, { audience: 'a', profileId: 'p', kind: 'exited', at: 5 }] });
      assert.deepEqual(await s.audienceMembers('a', undefined, 10), { members: [] });
    } finally {
      await s.close();
    }
  });
}
