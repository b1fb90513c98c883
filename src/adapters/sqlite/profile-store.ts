import { join } from 'node:path';
import type Database from 'better-sqlite3';
import type { IdentityKey } from '../../core/identity.js';
import type { ProfileDoc } from '../../core/profile.js';
import type { ProfileCommit, ProfileStore } from '../../ports/profile-store.js';
import { migrate, openSqlite, type SqliteDb } from './open.js';

const MIGRATIONS = [
  `CREATE TABLE profiles (id TEXT PRIMARY KEY, doc TEXT NOT NULL) WITHOUT ROWID;
   CREATE TABLE identities (key TEXT PRIMARY KEY, profile_id TEXT NOT NULL) WITHOUT ROWID;
   CREATE INDEX identities_profile ON identities (profile_id);
   CREATE TABLE offsets (partition INTEGER PRIMARY KEY, next_offset INTEGER NOT NULL);`,
];

/** Lookups go through json_each so a whole batch costs one statement, not one per key. */
export class SqliteProfileStore implements ProfileStore {
  private readonly db: SqliteDb;
  private readonly stmts: Record<string, Database.Statement>;
  private readonly commitTx: (batch: ProfileCommit) => void;

  constructor(opts: { dir: string; sync?: 'full' | 'normal'; file?: string }) {
    this.db = openSqlite(opts.dir === ':memory:' ? ':memory:' : join(opts.dir, opts.file ?? 'profiles.db'), { sync: opts.sync ?? 'full', cacheMb: 64 });
    migrate(this.db, MIGRATIONS);
    this.stmts = {
      offsets: this.db.prepare('SELECT partition, next_offset FROM offsets').raw(),
      lookup: this.db.prepare('SELECT key, profile_id FROM identities WHERE key IN (SELECT value FROM json_each(?))').raw(),
      lookupOne: this.db.prepare('SELECT profile_id FROM identities WHERE key = ?').pluck(),
      profiles: this.db.prepare('SELECT id, doc FROM profiles WHERE id IN (SELECT value FROM json_each(?))').raw(),
      profile: this.db.prepare('SELECT doc FROM profiles WHERE id = ?').pluck(),
      upsert: this.db.prepare('INSERT INTO profiles (id, doc) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET doc = excluded.doc'),
      delete: this.db.prepare('DELETE FROM profiles WHERE id = ?'),
      identity: this.db.prepare(
        'INSERT INTO identities (key, profile_id) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET profile_id = excluded.profile_id',
      ),
      offset: this.db.prepare(
        'INSERT INTO offsets (partition, next_offset) VALUES (?, ?) ON CONFLICT(partition) DO UPDATE SET next_offset = excluded.next_offset',
      ),
      count: this.db.prepare('SELECT count(*) FROM profiles').pluck(),
    };
    this.commitTx = this.db.transaction((batch: ProfileCommit) => {
      for (const id of batch.deletes) this.stmts.delete!.run(id);
      for (const doc of batch.upserts) this.stmts.upsert!.run(doc.id, JSON.stringify(doc));
      for (const [key, id] of batch.identities) this.stmts.identity!.run(key, id);
      for (const [p, next] of batch.offsets) this.stmts.offset!.run(p, next);
    });
  }

  async readOffsets(): Promise<Map<number, number>> {
    return new Map(this.stmts.offsets!.all() as [number, number][]);
  }

  async lookupIdentities(keys: readonly IdentityKey[]): Promise<Map<IdentityKey, string>> {
    if (keys.length === 0) return new Map();
    return new Map(this.stmts.lookup!.all(JSON.stringify(keys)) as [string, string][]);
  }

  async getProfiles(ids: readonly string[]): Promise<Map<string, ProfileDoc>> {
    if (ids.length === 0) return new Map();
    const rows = this.stmts.profiles!.all(JSON.stringify(ids)) as [string, string][];
    return new Map(rows.map(([id, doc]) => [id, JSON.parse(doc) as ProfileDoc]));
  }

  async getProfileByIdentity(key: IdentityKey): Promise<ProfileDoc | undefined> {
    const id = this.stmts.lookupOne!.get(key) as string | undefined;
    if (id === undefined) return undefined;
    const doc = this.stmts.profile!.get(id) as string | undefined;
    return doc === undefined ? undefined : (JSON.parse(doc) as ProfileDoc);
  }

  async commit(batch: ProfileCommit): Promise<void> {
    this.commitTx(batch);
  }

  async reset(): Promise<void> {
    this.db.exec('DELETE FROM profiles; DELETE FROM identities; DELETE FROM offsets;');
  }

  async countProfiles(): Promise<number> {
    return this.stmts.count!.get() as number;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
