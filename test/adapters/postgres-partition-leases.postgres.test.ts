import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { PostgresPartitionLeases } from '../../src/adapters/postgres/partition-leases.js';
import { PostgresProfileStore } from '../../src/adapters/postgres/profile-store.js';
import { PartitionLostError } from '../../src/ports/partition-leases.js';
import { postgresDatabase } from '../services.js';

const db = await postgresDatabase();

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

if ('skip' in db) {
  test('postgres partition leases', { skip: db.skip }, () => undefined);
} else {
  after(() => db.drop());

  test('postgres leases: holders share the partitions fairly, take over from one that stops, and fence its commits', async () => {
    const schema = 'leases';
    // The store creates the schema (offsets with their owner column) before leases are taken.
    const setup = await PostgresProfileStore.open({ url: db.url, schema, poolSize: 1 });
    await setup.close();
    const opts = { url: db.url, schema, partitions: 8, intervalMs: 100 };
    const a = new PostgresPartitionLeases(opts);
    const b = new PostgresPartitionLeases(opts);
    let changes = 0;
    await a.start(() => changes++);
    assert.equal(a.held().size, 8, 'alone, it holds everything');
    await b.start(() => undefined);
    await until('a fair split', () => a.held().size === 4 && b.held().size === 4);
    assert.ok(changes >= 2);
    assert.deepEqual([...a.held(), ...b.held()].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7], 'each partition held exactly once');

    // A store fenced by `a` cannot commit a partition `b` holds, and nothing of that commit lands.
    const storeA = await PostgresProfileStore.open({ url: db.url, schema, poolSize: 2 });
    const mine = [...a.held()][0]!;
    const theirs = [...b.held()][0]!;
    try {
      // A batch begun now takes a's tokens (it has none for b's partitions).
      const tokens = new Map(a.tokens());
      await storeA.commit({ offsets: new Map([[mine, 10]]), fence: tokens });
      await assert.rejects(
        storeA.commit({ clusters: [{ id: 'ghost', members: [], last: { t: 1, m: 'm' }, edges: [], lineage: [] }], offsets: new Map([[mine, 20], [theirs, 20]]), fence: tokens }),
        (e: unknown) => e instanceof PartitionLostError && e.partitions.join() === String(theirs),
      );
      assert.equal((await storeA.readOffsets()).get(mine), 10);
      assert.equal(await storeA.countProfiles(), 0);

      await b.stop();
      await until('a takes everything back', () => a.held().size === 8);
      await storeA.commit({ offsets: new Map([[theirs, 30]]), fence: a.tokens() });
      assert.equal((await storeA.readOffsets()).get(theirs), 30);
      // A batch begun before a lost and took back `theirs` carries the old token: refused.
      await assert.rejects(storeA.commit({ offsets: new Map([[theirs, 40]]), fence: new Map([[theirs, 'an-earlier-token']]) }), PartitionLostError);
      assert.equal((await storeA.readOffsets()).get(theirs), 30);
    } finally {
      await storeA.close();
      await a.stop();
    }
  });

  test('postgres leases: processors of another database (same schema name) are not counted', async () => {
    const other = await postgresDatabase();
    assert.ok(!('skip' in other));
    try {
      for (const url of [db.url, other.url]) await (await PostgresProfileStore.open({ url, schema: 'shared_name', poolSize: 1 })).close();
      const here = new PostgresPartitionLeases({ url: db.url, schema: 'shared_name', partitions: 4, intervalMs: 100 });
      const there = new PostgresPartitionLeases({ url: other.url, schema: 'shared_name', partitions: 4, intervalMs: 100 });
      await there.start(() => undefined);
      await here.start(() => undefined);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(here.held().size, 4);
      assert.equal(there.held().size, 4);
      await here.stop();
      await there.stop();
    } finally {
      await other.drop();
    }
  });
}
