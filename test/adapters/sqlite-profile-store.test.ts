import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { migrate, openSqlite } from '../../src/adapters/sqlite/open.js';
import { PROFILE_STORE_MIGRATIONS, SqliteProfileStore } from '../../src/adapters/sqlite/profile-store.js';
import { CursorError } from '../../src/ports/profile-store.js';
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

// The processor's connection: the same suite with checkpoints in a thread of their own.
profileStoreConformance('sqlite, background checkpoints', async () => {
  const { dir, cleanup } = tempDir();
  dirs.push(cleanup);
  return new SqliteProfileStore({ dir, sync: 'normal', checkpoint: 'background' });
});

test('a background checkpointer copies the WAL back while the writer commits, and the writer keeps only a distant backstop', async () => {
  const { dir, cleanup } = tempDir();
  dirs.push(cleanup);
  const store = new SqliteProfileStore({ dir, sync: 'normal', checkpoint: 'background' });
  const db = (store as unknown as { db: { pragma(q: string, o?: object): unknown } }).db;
  assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 4000);
  // Far fewer pages than the backstop: only the thread can have checkpointed them.
  for (let i = 0; i < 20; i++) await store.commit({ offsets: new Map([[0, i + 1]]), outbox: Array.from({ length: 20 }, (_, j) => `{"n":${i * 20 + j},"pad":"${'x'.repeat(500)}"}`) });
  const deadline = Date.now() + 5000;
  while ((store.checkpointedFrames ?? 0) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok((store.checkpointedFrames ?? 0) > 0, 'the thread checkpointed the WAL');
  assert.deepEqual(await store.readOffsets(), new Map([[0, 20]]));
  await store.close();
  // Closed, the thread is gone: the file reopens and holds what was committed.
  const again = new SqliteProfileStore({ dir, sync: 'normal' });
  assert.equal((await again.readOutbox(1000)).length, 400);
  assert.equal(again.checkpointedFrames, undefined);
  await again.close();
});

test('a background checkpointer that cannot work says so once, as a process warning with a stable code', async () => {
  const { WalCheckpointer } = await import('../../src/adapters/sqlite/checkpointer.js');
  const { openSqlite } = await import('../../src/adapters/sqlite/open.js');
  const { dir, cleanup } = tempDir();
  dirs.push(cleanup);
  const writer = openSqlite(':memory:');
  const warned = new Promise<Error & { code?: string }>((resolve) => process.once('warning', resolve));
  // A folder is no database: the thread fails to open it.
  const checkpointer = new WalCheckpointer(writer, dir);
  // The thread is unref'd (it keeps no process alive): this timer keeps the test's.
  const alive = setTimeout(() => undefined, 10_000);
  const warning = await warned;
  clearTimeout(alive);
  assert.equal(warning.code, 'MOSAIC_CHECKPOINT_FAILED');
  assert.match(warning.message, /checkpoints every 4000 pages/);
  await checkpointer.close();
  writer.close();
});

test('members page by rowid; a cursor the store did not make is refused with CursorError', async () => {
  const { dir, cleanup } = tempDir();
  dirs.push(cleanup);
  const s = new SqliteProfileStore({ dir, sync: 'normal' });
  // Ids out of byte order: pages follow the order the profiles were made in.
  const ids = ['p_z', 'p_a', 'p_m'];
  await s.commit({ clusters: ids.map((id) => ({ id, members: [`user_id:${id}`], last: { t: 1, m: 'm' }, edges: [], lineage: [] })) });
  await s.commit({ memberships: ids.map((profileId, i) => ({ audience: 'x', profileId, kind: 'entered' as const, at: i })) });
  const first = await s.audienceMembers('x', undefined, 2);
  assert.deepEqual(first.members.map((m) => m.profileId), ['p_z', 'p_a']);
  assert.deepEqual(await s.audienceMembers('x', first.next, 2), { members: [{ profileId: 'p_m', since: 2 }] });
  for (const bad of ['p_a', '-1', '1.5', '', '9'.repeat(20)]) await assert.rejects(s.audienceMembers('x', bad, 2), CursorError, bad);
  await assert.rejects(s.commit({ memberships: [{ audience: 'x', profileId: 'p_nobody', kind: 'entered', at: 1 }] }), /p_nobody enters audience "x" but is not stored/);
  await s.close();
});

test('a file from before rowid-keyed members keeps its members and counts', async () => {
  const { dir, cleanup } = tempDir();
  dirs.push(cleanup);
  const db = openSqlite(join(dir, 'profiles.db'));
  migrate(db, PROFILE_STORE_MIGRATIONS.slice(0, -2));
  db.exec(`INSERT INTO profiles (id, doc) VALUES ('p_b', '{"id":"p_b","members":[],"last":{"t":0,"m":""},"edges":[],"lineage":[]}'), ('p_a', '{"id":"p_a","members":[],"last":{"t":0,"m":""},"edges":[],"lineage":[]}');
    INSERT INTO audience_members (audience, profile_id, since) VALUES ('x', 'p_a', 5), ('x', 'p_b', 6), ('y', 'p_a', 7), ('y', 'p_gone', 8);
    INSERT INTO audience_counts (audience, members) VALUES ('x', 2), ('y', 2);`);
  db.close();
  const s = new SqliteProfileStore({ dir, sync: 'normal' });
  assert.deepEqual(await s.audienceMembers('x', undefined, 10), { members: [{ profileId: 'p_b', since: 6 }, { profileId: 'p_a', since: 5 }] });
  assert.deepEqual(await s.memberships(['p_a', 'p_b']), new Map([['p_a', new Set(['x', 'y'])], ['p_b', new Set(['x'])]]));
  assert.deepEqual(await s.audienceCounts(), new Map([['x', 2], ['y', 1]]), 'a member with no profile is dropped, and the count follows');
  await s.close();
});

const partDoc = (id: string, eventCount: number) => ({ id, identities: [], traits: {}, firstSeen: 1, lastSeen: 2, eventCount, eventCounts: {}, typeCounts: {} });

test('a file from before parts were found through identity rows keeps every part, with or without a profile', async () => {
  const { dir, cleanup } = tempDir();
  dirs.push(cleanup);
  const db = openSqlite(join(dir, 'profiles.db'));
  migrate(db, PROFILE_STORE_MIGRATIONS.slice(0, -1));
  db.exec(`INSERT INTO profiles (id, doc) VALUES ('p_1', '{"id":"p_1","members":["user_id:u1","anonymous_id:a1"],"last":{"t":0,"m":""},"edges":[],"lineage":[]}');
    INSERT INTO identities (key, profile_id) VALUES ('user_id:u1', 'p_1'), ('anonymous_id:a1', 'p_1');
    INSERT INTO parts (anchor, doc) VALUES ('user_id:u1', '${JSON.stringify(partDoc('user_id:u1', 3))}'), ('anonymous_id:a1', '${JSON.stringify(partDoc('anonymous_id:a1', 2))}'), ('anonymous_id:alone', '${JSON.stringify(partDoc('anonymous_id:alone', 1))}');`);
  db.close();
  const s = new SqliteProfileStore({ dir, sync: 'normal' });
  const parts = await s.getParts(['user_id:u1', 'anonymous_id:a1', 'anonymous_id:alone', 'anonymous_id:never']);
  assert.deepEqual([...parts].map(([k, d]) => [k, d.eventCount]).sort(), [['anonymous_id:a1', 2], ['anonymous_id:alone', 1], ['user_id:u1', 3]]);
  assert.deepEqual(await s.nodeClusters(['user_id:u1', 'anonymous_id:alone']), new Map([['user_id:u1', 'p_1']]), 'a part seen alone has no profile');
  const read = await s.readProfile('anonymous_id:a1');
  assert.deepEqual(read?.parts.map((p) => p.eventCount).sort(), [2, 3]);
  // Committed again after the migration: updated in place, not inserted twice.
  const alone = parts.get('anonymous_id:alone')!;
  alone.eventCount = 5;
  await s.commit({ parts: [alone] });
  assert.equal((await s.getParts(['anonymous_id:alone'])).get('anonymous_id:alone')!.eventCount, 5);
  await s.close();
  const check = openSqlite(join(dir, 'profiles.db'), { readonly: true });
  assert.equal(check.prepare('SELECT count(*) FROM parts').pluck().get(), 3);
  check.close();
});

test('parts are found through their identifier: inserted once, updated by rowid after, erased with nothing left', async () => {
  const { dir, cleanup } = tempDir();
  dirs.push(cleanup);
  const s = new SqliteProfileStore({ dir, sync: 'normal' });
  const fresh = partDoc('anonymous_id:x', 1);
  await s.commit({ parts: [fresh] });
  fresh.eventCount = 2;
  await s.commit({ parts: [fresh] }); // the same (cached) document: by the rowid its insert gave
  // A document parsed anew (another process's cache, say): by the row its identifier holds.
  await s.commit({ parts: [partDoc('anonymous_id:x', 3)] });
  await s.commit({ nodes: [['anonymous_id:x', 'p_x']], parts: [partDoc('user_id:y', 1)] });
  assert.equal((await s.getParts(['anonymous_id:x'])).get('anonymous_id:x')!.eventCount, 3);
  assert.deepEqual(await s.nodeClusters(['anonymous_id:x', 'user_id:y']), new Map([['anonymous_id:x', 'p_x']]));
  const db = openSqlite(join(dir, 'profiles.db'), { readonly: true });
  const rows = () => db.prepare('SELECT key, profile_id, part IS NOT NULL AS has_part FROM identities ORDER BY key').raw().all();
  assert.equal(db.prepare('SELECT count(*) FROM parts').pluck().get(), 2, 'one row per part, however often it was committed');
  assert.deepEqual(rows(), [['anonymous_id:x', 'p_x', 1], ['user_id:y', null, 1]]);
  // The profile's node erased alone: the part stays, reachable; then the part: the row goes.
  await s.commit({ erase: { nodes: ['anonymous_id:x'], edges: [], parts: [], outbox: [], deadLetters: [] } });
  assert.deepEqual(rows(), [['anonymous_id:x', null, 1], ['user_id:y', null, 1]]);
  assert.equal((await s.getParts(['anonymous_id:x'])).size, 1);
  await s.commit({ erase: { nodes: ['anonymous_id:x', 'user_id:y'], edges: [], parts: ['anonymous_id:x', 'user_id:y'], outbox: [], deadLetters: [] } });
  assert.deepEqual(rows(), []);
  assert.equal(db.prepare('SELECT count(*) FROM parts').pluck().get(), 0, 'no part row is left behind');
  db.close();
  await s.close();
});
