import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { SqliteProfileStore } from '../../src/adapters/sqlite/profile-store.js';
import { profileStoreConformance } from '../conformance/profile-store.suite.js';
import { tempDir } from '../helpers.js';

const dirs: (() => void)[] = [];
after(() => dirs.forEach((c) => c()));

profileStoreConformance('sqlite', async () => {
  const { dir, cleanup } = tempDir();
  dirs.push(cleanup);
  return new SqliteProfileStore({ dir, sync: 'normal' });
});

// processor.storeSync: off passes the same suite (it changes when data reaches the disk, not what is stored).
profileStoreConformance('sqlite, synchronous=off', async () => {
  const { dir, cleanup } = tempDir();
  dirs.push(cleanup);
  return new SqliteProfileStore({ dir, sync: 'off' });
});

test('storeSync maps to the SQLite pragma', async () => {
  for (const [sync, want] of [['off', 0], ['normal', 1], ['full', 2]] as const) {
    const { dir, cleanup } = tempDir();
    dirs.push(cleanup);
    const s = new SqliteProfileStore({ dir, sync });
    assert.equal((s as unknown as { db: { pragma(q: string, o: object): unknown } }).db.pragma('synchronous', { simple: true }), want);
    await s.close();
  }
});
