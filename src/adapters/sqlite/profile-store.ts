import { join } from 'node:path';
import type Database from 'better-sqlite3';
import type { IdentityKey } from '../../core/identity.js';
import type { Cluster, Hyperedge, Stamp } from '../../core/identity-graph.js';
import type { ProfileDoc } from '../../core/profile.js';
import { CursorError, type AudienceMemberPage, type DeadLetter, type OutboxEntry, type ProfileCommit, type ProfileStore, type SeenMessage } from '../../ports/profile-store.js';
import { WalCheckpointer } from './checkpointer.js';
import { migrate, openSqlite, scrubSqlite, type SqliteDb } from './open.js';

/** Exported for the test that migrates an older file. */
export const PROFILE_STORE_MIGRATIONS = [
  `CREATE TABLE profiles (rid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);
   CREATE TABLE identities (key TEXT PRIMARY KEY, profile_id TEXT NOT NULL) WITHOUT ROWID;
   CREATE TABLE offsets (partition INTEGER PRIMARY KEY, next_offset INTEGER NOT NULL);`,
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;`,
  // Identity rules: profiles become clusters of an identity graph with per-anchor parts. The
  // old documents cannot be split, so they are dropped with the offsets: the processor
  // rebuilds everything from the log, which is the source of truth.
  `DELETE FROM profiles; DELETE FROM identities; DELETE FROM offsets;
   CREATE TABLE parts (rid INTEGER PRIMARY KEY, anchor TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);
   CREATE TABLE edges (key TEXT PRIMARY KEY, t INTEGER NOT NULL, m TEXT NOT NULL, nodes TEXT NOT NULL) WITHOUT ROWID;`,
  `CREATE TABLE audience_members (audience TEXT NOT NULL, profile_id TEXT NOT NULL, since INTEGER NOT NULL, PRIMARY KEY (audience, profile_id)) WITHOUT ROWID;
   CREATE INDEX audience_members_by_profile ON audience_members (profile_id);
   CREATE TABLE audience_sizes (audience TEXT NOT NULL, at INTEGER NOT NULL, size INTEGER NOT NULL, PRIMARY KEY (audience, at)) WITHOUT ROWID;
   CREATE TABLE outbox (id INTEGER PRIMARY KEY, payload TEXT NOT NULL);`,
  `CREATE TABLE dead_letters (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, reason TEXT NOT NULL, payload TEXT NOT NULL);`,
  `CREATE TABLE seen_messages (partition INTEGER NOT NULL, key TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (partition, key)) WITHOUT ROWID;
   CREATE INDEX seen_messages_by_time ON seen_messages (at);`,
  // Audience sizes kept by the commits that change them: counting members scans them (1.2 s
  // for 10M members on PostgreSQL, measured), and the audiences API shows sizes.
  `CREATE TABLE audience_counts (audience TEXT PRIMARY KEY, members INTEGER NOT NULL) WITHOUT ROWID;
   INSERT INTO audience_counts SELECT audience, count(*) FROM audience_members GROUP BY audience;`,
  // Erased people's identifiers, hashed: neither a replay nor a re-import brings them back.
  `CREATE TABLE suppressions (hash TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID;`,
  // A profile's audiences are found by probing (audience, profile_id) once per audience with
  // members (a few dozen): a second index by profile cost a random page write per transition,
  // about 7% of the processor's throughput with ten audiences (npm run bench:processor).
  `DROP INDEX audience_members_by_profile;`,
  // Members keyed by their profile's rowid, not its id: ids are hashes, so every entry landed on
  // a random page of the audience's B-tree, written whole to the WAL at each commit. Rowids grow
  // with profiles, so a new profile's entries append to each audience's last page.
  `CREATE TABLE audience_members_by_rid (audience TEXT NOT NULL, rid INTEGER NOT NULL, since INTEGER NOT NULL, PRIMARY KEY (audience, rid)) WITHOUT ROWID;
   INSERT INTO audience_members_by_rid SELECT m.audience, p.rid, m.since FROM audience_members m JOIN profiles p ON p.id = m.profile_id;
   DROP TABLE audience_members;
   ALTER TABLE audience_members_by_rid RENAME TO audience_members;
   DELETE FROM audience_counts;
   INSERT INTO audience_counts SELECT audience, count(*) FROM audience_members GROUP BY audience;`,
  // Parts found through their identifier's row, which holds the part's rowid: a unique index on
  // parts.anchor repeated every identifier in a second B-tree keyed by it, so each new one
  // dirtied a random page of both, written whole to the WAL. An identifier with a part and no
  // profile yet (seen alone) has a row with no profile_id.
  `CREATE TABLE identities_v2 (key TEXT PRIMARY KEY, profile_id TEXT, part INTEGER) WITHOUT ROWID;
   INSERT INTO identities_v2 (key, profile_id, part) SELECT i.key, i.profile_id, p.rid FROM identities i LEFT JOIN parts p ON p.anchor = i.key;
   INSERT INTO identities_v2 (key, profile_id, part) SELECT p.anchor, NULL, p.rid FROM parts p WHERE NOT EXISTS (SELECT 1 FROM identities i WHERE i.key = p.anchor);
   DROP TABLE identities;
   ALTER TABLE identities_v2 RENAME TO identities;
   CREATE TABLE parts_v2 (rid INTEGER PRIMARY KEY, anchor TEXT NOT NULL, doc TEXT NOT NULL);
   INSERT INTO parts_v2 (rid, anchor, doc) SELECT rid, anchor, doc FROM parts;
   DROP TABLE parts;
   ALTER TABLE parts_v2 RENAME TO parts;`,
];

/** Size samples older than this are dropped as new ones are recorded. */
const SIZE_HISTORY_MS = 90 * 86_400_000;

/**
 * The embedded ProfileStore. Profiles (clusters) and parts are JSON documents in rowid tables
 * (documents are hundreds of bytes: keeping them out of the key's B-tree halves the pages an
 * update touches, measured). A part is found through its identifier's row in `identities`,
 * which holds the part's rowid beside the profile's id. A part loaded by getParts or inserted by
 * a commit remembers its rowid in a WeakMap keyed by the object the reducer mutates, so
 * committing it again is an UPDATE by rowid: 2.4x faster than an upsert by key (measured), with
 * no change to the core's types.
 */
export class SqliteProfileStore implements ProfileStore {
  private readonly db: SqliteDb;
  private rowOf = new WeakMap<ProfileDoc, number>();
  private readonly stmts: Record<string, Database.Statement>;
  private readonly commitTx: (batch: ProfileCommit) => [ProfileDoc, number][];

  /** Present when this connection is the store's main writer: checkpoints leave its commits. */
  private readonly checkpointer: WalCheckpointer | undefined;

  /** `checkpoint: 'background'` for the connection that writes most (the processor's): see WalCheckpointer. */
  constructor(opts: { dir: string; sync?: 'full' | 'normal' | 'off'; file?: string; checkpoint?: 'inline' | 'background' }) {
    const file = opts.dir === ':memory:' ? ':memory:' : join(opts.dir, opts.file ?? 'profiles.db');
    this.db = openSqlite(file, {
      sync: opts.sync ?? 'full',
      cacheMb: 64,
      // The WAL is kept short (every 4 MB, SQLite's default, or by the background checkpointer):
      // every 40 MB made processing faster but profile reads tens of times slower.
    });
    migrate(this.db, PROFILE_STORE_MIGRATIONS);
    this.checkpointer = opts.checkpoint === 'background' && file !== ':memory:' ? new WalCheckpointer(this.db, file) : undefined;
    const inList = (sql: string) => this.db.prepare(sql.replace('?', '(SELECT value FROM json_each(?))')).raw();
    this.stmts = {
      offsets: this.db.prepare('SELECT partition, next_offset FROM offsets').raw(),
      nodes: inList('SELECT key, profile_id FROM identities WHERE key IN ? AND profile_id IS NOT NULL'),
      clusters: inList('SELECT doc FROM profiles WHERE id IN ?'),
      edgeStamps: inList('SELECT key, t, m FROM edges WHERE key IN ?'),
      edges: inList('SELECT key, t, m, nodes FROM edges WHERE key IN ?'),
      parts: inList('SELECT p.rid, p.doc FROM identities i CROSS JOIN parts p WHERE i.key IN ? AND p.rid = i.part'),
      scan: this.db.prepare('SELECT doc FROM profiles WHERE id > ? ORDER BY id LIMIT ?').pluck(),
      findCluster: this.db.prepare('SELECT p.doc FROM identities i JOIN profiles p ON p.id = i.profile_id WHERE i.key = ?').pluck(),
      // A profile read in one statement (one statement reads one snapshot: no transaction to open
      // and close) and one JSON text to parse: the cluster, its parts and its audiences.
      readProfile: this.db
        .prepare(
          `SELECT json_array(json(p.doc),
             (SELECT json_group_array(json(pp.doc)) FROM identities ii CROSS JOIN parts pp WHERE ii.key IN (SELECT value FROM json_each(p.doc, '$.members')) AND pp.rid = ii.part),
             (SELECT json_group_array(c.audience) FROM audience_counts c CROSS JOIN audience_members m WHERE c.members > 0 AND m.audience = c.audience AND m.rid = p.rid))
           FROM identities i JOIN profiles p ON p.id = i.profile_id WHERE i.key = ?`,
        )
        .pluck(),
      upsertCluster: this.db.prepare('INSERT INTO profiles (id, doc) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET doc = excluded.doc'),
      // With the rowid, for a commit with memberships: RETURNING costs 40% more per row (measured).
      upsertClusterRow: this.db.prepare('INSERT INTO profiles (id, doc) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET doc = excluded.doc RETURNING rid').pluck(),
      clusterRow: this.db.prepare('SELECT rid FROM profiles WHERE id = ?').pluck(),
      deleteCluster: this.db.prepare('DELETE FROM profiles WHERE id = ?'),
      node: this.db.prepare('INSERT INTO identities (key, profile_id) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET profile_id = excluded.profile_id'),
      edge: this.db.prepare('INSERT INTO edges (key, t, m, nodes) VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET t = excluded.t, m = excluded.m'),
      partRow: this.db.prepare('SELECT part FROM identities WHERE key = ? AND part IS NOT NULL').pluck(),
      insertPart: this.db.prepare('INSERT INTO parts (anchor, doc) VALUES (?, ?)'),
      linkPart: this.db.prepare('INSERT INTO identities (key, part) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET part = excluded.part'),
      updatePart: this.db.prepare('UPDATE parts SET doc = ? WHERE rid = ?'),
      offset: this.db.prepare(
        'INSERT INTO offsets (partition, next_offset) VALUES (?, ?) ON CONFLICT(partition) DO UPDATE SET next_offset = excluded.next_offset',
      ),
      count: this.db.prepare('SELECT count(*) FROM profiles').pluck(),
      // CROSS JOIN fixes the order: the planner otherwise scans the members table.
      memberships: this.db
        .prepare('SELECT p.id, m.audience FROM json_each(?) j CROSS JOIN profiles p CROSS JOIN audience_counts c CROSS JOIN audience_members m WHERE p.id = j.value AND c.members > 0 AND m.audience = c.audience AND m.rid = p.rid')
        .raw(),
      // LEFT JOIN: a page is full or not by its members' rows, whatever the join finds.
      members: this.db.prepare('SELECT m.rid, p.id, m.since FROM audience_members m LEFT JOIN profiles p ON p.rid = m.rid WHERE m.audience = ? AND m.rid > ? ORDER BY m.rid LIMIT ?').raw(),
      enter: this.db.prepare('INSERT OR IGNORE INTO audience_members (audience, rid, since) VALUES (?, ?, ?)'),
      exit: this.db.prepare('DELETE FROM audience_members WHERE audience = ? AND rid = ?'),
      audienceCounts: this.db.prepare('SELECT audience, members FROM audience_counts WHERE members > 0').raw(),
      audienceCount: this.db.prepare('INSERT INTO audience_counts (audience, members) VALUES (?, ?) ON CONFLICT(audience) DO UPDATE SET members = members + excluded.members'),
      recordSize: this.db.prepare('INSERT OR REPLACE INTO audience_sizes (audience, at, size) VALUES (?, ?, ?)'),
      pruneSizes: this.db.prepare('DELETE FROM audience_sizes WHERE at < ?'),
      sizes: this.db.prepare('SELECT at, size FROM audience_sizes WHERE audience = ? AND at >= ? ORDER BY at').raw(),
      deadLetterAdd: this.db.prepare('INSERT INTO dead_letters (at, kind, name, reason, payload) VALUES (?, ?, ?, ?, ?)'),
      deadLetters: this.db.prepare('SELECT id, at, kind, name, reason, payload FROM dead_letters WHERE id > ? AND (? IS NULL OR kind = ?) ORDER BY id LIMIT ?'),
      outboxAdd: this.db.prepare('INSERT INTO outbox (payload) VALUES (?)'),
      outboxRead: this.db.prepare('SELECT id, payload FROM outbox ORDER BY id LIMIT ?').raw(),
      outboxDelete: this.db.prepare('DELETE FROM outbox WHERE id IN (SELECT value FROM json_each(?))'),
      seen: this.db.prepare('SELECT s.key FROM json_each(?) t JOIN seen_messages s ON s.partition = t.value ->> 0 AND s.key = t.value ->> 1').pluck(),
      see: this.db.prepare('INSERT OR IGNORE INTO seen_messages (partition, key, at) VALUES (?, ?, ?)'),
      forgetSeen: this.db.prepare('DELETE FROM seen_messages WHERE at < ?'),
      suppressions: this.db.prepare('SELECT hash FROM suppressions').pluck(),
      suppressionCount: this.db.prepare('SELECT count(*) FROM suppressions').pluck(),
      suppress: this.db.prepare('INSERT OR IGNORE INTO suppressions (hash, at) VALUES (?, ?)'),
      // An identifier's row holds its profile and its part: each is erased on its own, and the row
      // goes once it holds neither.
      eraseNode: this.db.prepare('UPDATE identities SET profile_id = NULL WHERE key = ?'),
      erasePart: this.db.prepare('DELETE FROM parts WHERE rid = (SELECT part FROM identities WHERE key = ?)'),
      unlinkPart: this.db.prepare('UPDATE identities SET part = NULL WHERE key = ?'),
      dropEmptyIdentity: this.db.prepare('DELETE FROM identities WHERE key = ? AND profile_id IS NULL AND part IS NULL'),
      eraseEdge: this.db.prepare('DELETE FROM edges WHERE key = ?'),
      eraseOutbox: this.db.prepare('DELETE FROM outbox WHERE id = ?'),
      eraseDeadLetter: this.db.prepare('DELETE FROM dead_letters WHERE id = ?'),
      getMeta: this.db.prepare('SELECT value FROM meta WHERE key = ?').pluck(),
      setMeta: this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
    };
    this.commitTx = this.db.transaction((batch: ProfileCommit) => {
      // Memberships are keyed by the profile's rowid (see PROFILE_STORE_MIGRATIONS): the rowids of
      // the profiles this commit writes, for the memberships that follow.
      const rows = new Map<string, number>();
      // Parts this commit inserts, with their rowids: remembered once it has committed, so the
      // next commit of the same (cached) part updates it by rowid.
      const created: [ProfileDoc, number][] = [];
      const clusters = [...(batch.clusters ?? [])];
      const memberships = [...(batch.memberships ?? [])];
      if (memberships.length) for (const c of clusters) rows.set(c.id, this.stmts.upsertClusterRow!.get(c.id, JSON.stringify(c)) as number);
      else for (const c of clusters) this.stmts.upsertCluster!.run(c.id, JSON.stringify(c));
      for (const [key, id] of batch.nodes ?? []) this.stmts.node!.run(key, id);
      for (const e of batch.edges ?? []) this.stmts.edge!.run(e.key, e.t, e.m, JSON.stringify(e.nodes));
      for (const part of batch.parts ?? []) {
        const json = JSON.stringify(part);
        // By the rowid remembered for this document, else the one its identifier's row holds
        // (a row no longer there, after an erasure or a reset, updates nothing: inserted anew).
        const remembered = this.rowOf.get(part);
        if (remembered !== undefined && this.stmts.updatePart!.run(json, remembered).changes > 0) continue;
        const stored = this.stmts.partRow!.get(part.id) as number | undefined;
        if (stored !== undefined && this.stmts.updatePart!.run(json, stored).changes > 0) {
          created.push([part, stored]);
          continue;
        }
        const inserted = Number(this.stmts.insertPart!.run(part.id, json).lastInsertRowid);
        this.stmts.linkPart!.run(part.id, inserted);
        created.push([part, inserted]);
      }
      for (const [p, next] of batch.offsets ?? []) this.stmts.offset!.run(p, next);
      const sizes = new Map<string, number>();
      for (const m of memberships) {
        const rid = rows.get(m.profileId) ?? (this.stmts.clusterRow!.get(m.profileId) as number | undefined);
        if (rid === undefined) {
          // No row, so no membership to leave; entering one would list a member with no profile.
          if (m.kind === 'entered') throw new Error(`Profile ${m.profileId} enters audience "${m.audience}" but is not stored: a membership needs its profile in the same or an earlier commit.`);
          continue;
        }
        const changed = m.kind === 'entered' ? this.stmts.enter!.run(m.audience, rid, m.at).changes : -this.stmts.exit!.run(m.audience, rid).changes;
        if (changed) sizes.set(m.audience, (sizes.get(m.audience) ?? 0) + changed);
      }
      for (const [audience, delta] of sizes) if (delta) this.stmts.audienceCount!.run(audience, delta);
      // Deleted after the exits, which find their rows by the profile's rowid, and after the
      // writes: a rowid freed first would be handed to a profile this commit makes, and that
      // profile's entries would meet the deleted one's rows. A profile deleted and written again
      // keeps its row, and with it the rowid its memberships have.
      const deletes = [...(batch.deleteClusters ?? [])];
      const written = deletes.length ? new Set(clusters.map((c) => c.id)) : undefined;
      for (const id of deletes) if (!written?.has(id)) this.stmts.deleteCluster!.run(id);
      for (const payload of batch.outbox ?? []) this.stmts.outboxAdd!.run(payload);
      for (const d of batch.deadLetters ?? []) this.stmts.deadLetterAdd!.run(d.at, d.kind, d.name, d.reason, d.payload);
      if (batch.seen) for (const [p, key] of batch.seen.messages) this.stmts.see!.run(p, key, batch.seen.at);
      if (batch.erase) {
        for (const k of batch.erase.nodes) this.stmts.eraseNode!.run(k);
        for (const k of batch.erase.edges) this.stmts.eraseEdge!.run(k);
        for (const k of batch.erase.parts) {
          this.stmts.erasePart!.run(k);
          this.stmts.unlinkPart!.run(k);
        }
        for (const k of [...batch.erase.nodes, ...batch.erase.parts]) this.stmts.dropEmptyIdentity!.run(k);
        for (const id of batch.erase.outbox) this.stmts.eraseOutbox!.run(id);
        for (const id of batch.erase.deadLetters) this.stmts.eraseDeadLetter!.run(id);
      }
      const now = Date.now();
      for (const h of batch.suppress ?? []) this.stmts.suppress!.run(h, now);
      return created;
    });
  }

  async readOffsets(): Promise<Map<number, number>> {
    return new Map(this.stmts.offsets!.all() as [number, number][]);
  }

  async nodeClusters(nodes: readonly IdentityKey[]): Promise<Map<IdentityKey, string>> {
    if (nodes.length === 0) return new Map();
    return new Map(this.stmts.nodes!.all(JSON.stringify(nodes)) as [string, string][]);
  }

  async getClusters(ids: readonly string[]): Promise<Map<string, Cluster>> {
    const out = new Map<string, Cluster>();
    if (ids.length === 0) return out;
    for (const [text] of this.stmts.clusters!.all(JSON.stringify(ids)) as [string][]) {
      const c = JSON.parse(text) as Cluster;
      out.set(c.id, c);
    }
    return out;
  }

  async edgeStamps(keys: readonly string[]): Promise<Map<string, Stamp>> {
    const out = new Map<string, Stamp>();
    if (keys.length === 0) return out;
    for (const [key, t, m] of this.stmts.edgeStamps!.all(JSON.stringify(keys)) as [string, number, string][]) out.set(key, { t, m });
    return out;
  }

  async getEdges(keys: readonly string[]): Promise<Hyperedge[]> {
    if (keys.length === 0) return [];
    return (this.stmts.edges!.all(JSON.stringify(keys)) as [string, number, string, string][]).map(([key, t, m, n]) => ({ key, t, m, nodes: JSON.parse(n) as IdentityKey[] }));
  }

  async getParts(anchors: readonly IdentityKey[]): Promise<Map<IdentityKey, ProfileDoc>> {
    const out = new Map<IdentityKey, ProfileDoc>();
    if (anchors.length === 0) return out;
    for (const [rid, text] of this.stmts.parts!.all(JSON.stringify(anchors)) as [number, string][]) {
      const doc = JSON.parse(text) as ProfileDoc;
      this.rowOf.set(doc, rid);
      out.set(doc.id, doc);
    }
    return out;
  }

  async scanClusters(afterId: string | undefined, limit: number): Promise<Cluster[]> {
    return (this.stmts.scan!.all(afterId ?? '', limit) as string[]).map((t) => JSON.parse(t) as Cluster);
  }

  async findCluster(key: IdentityKey): Promise<Cluster | undefined> {
    const text = this.stmts.findCluster!.get(key) as string | undefined;
    return text === undefined ? undefined : (JSON.parse(text) as Cluster);
  }

  /**
   * The cluster, its parts and its audiences from one snapshot: read one by one, a batch
   * committed in between could pair the old cluster with the new parts.
   */
  readonly readProfile = async (key: IdentityKey): Promise<{ cluster: Cluster; parts: ProfileDoc[]; audiences: string[] } | undefined> => {
    const text = this.stmts.readProfile!.get(key) as string | undefined;
    if (text === undefined) return undefined;
    const [cluster, parts, audiences] = JSON.parse(text) as [Cluster, ProfileDoc[], string[]];
    return { cluster, parts, audiences: audiences.sort() };
  };

  async memberships(profileIds: readonly string[]): Promise<Map<string, Set<string>>> {
    const out = new Map<string, Set<string>>();
    if (profileIds.length === 0) return out;
    for (const [id, audience] of this.stmts.memberships!.all(JSON.stringify(profileIds)) as [string, string][]) {
      let set = out.get(id);
      if (!set) out.set(id, (set = new Set()));
      set.add(audience);
    }
    return out;
  }

  /** Members in rowid order (the order their profiles were made); the cursor is the last rowid. */
  async audienceMembers(audience: string, cursor: string | undefined, limit: number): Promise<AudienceMemberPage> {
    if (cursor !== undefined && !/^\d{1,15}$/.test(cursor)) throw new CursorError(cursor);
    const rows = this.stmts.members!.all(audience, cursor === undefined ? 0 : Number(cursor), limit) as [number, string | null, number][];
    const members: AudienceMemberPage['members'] = [];
    for (const [, profileId, since] of rows) if (profileId !== null) members.push({ profileId, since });
    return rows.length === limit ? { members, next: String(rows[rows.length - 1]![0]) } : { members };
  }

  async audienceCounts(): Promise<Map<string, number>> {
    return new Map(this.stmts.audienceCounts!.all() as [string, number][]);
  }

  async recordAudienceSizes(at: number, sizes: ReadonlyMap<string, number>): Promise<void> {
    this.db.transaction(() => {
      for (const [audience, size] of sizes) this.stmts.recordSize!.run(audience, at, size);
      this.stmts.pruneSizes!.run(at - SIZE_HISTORY_MS);
    })();
  }

  async audienceSizes(audience: string, sinceMs: number): Promise<{ at: number; size: number }[]> {
    return (this.stmts.sizes!.all(audience, sinceMs) as [number, number][]).map(([at, size]) => ({ at, size }));
  }

  async readOutbox(limit: number): Promise<OutboxEntry[]> {
    return (this.stmts.outboxRead!.all(limit) as [number, string][]).map(([id, payload]) => ({ id, payload }));
  }

  async deleteOutbox(ids: readonly number[]): Promise<void> {
    if (ids.length) this.stmts.outboxDelete!.run(JSON.stringify(ids));
  }

  async deadLetters(afterId: number, limit: number, kind?: DeadLetter['kind']): Promise<(DeadLetter & { id: number })[]> {
    return this.stmts.deadLetters!.all(afterId, kind ?? null, kind ?? null, limit) as (DeadLetter & { id: number })[];
  }

  async seenMessages(messages: readonly SeenMessage[]): Promise<Set<string>> {
    if (messages.length === 0) return new Set();
    return new Set(this.stmts.seen!.all(JSON.stringify(messages)) as string[]);
  }

  async forgetSeenMessages(beforeMs: number): Promise<number> {
    return this.stmts.forgetSeen!.run(beforeMs).changes;
  }

  async commit(batch: ProfileCommit): Promise<void> {
    for (const [part, rid] of this.commitTx(batch)) this.rowOf.set(part, rid);
  }

  async suppressions(): Promise<string[]> {
    return this.stmts.suppressions!.all() as string[];
  }

  async suppressionCount(): Promise<number> {
    return this.stmts.suppressionCount!.get() as number;
  }

  /**
   * After an erasure: no byte of the deleted rows is left in the files (see scrubSqlite).
   */
  scrub(): Promise<boolean> {
    return Promise.resolve(scrubSqlite(this.db));
  }

  async reset(): Promise<void> {
    this.rowOf = new WeakMap(); // the rows are gone
    // Transformation dead letters are made again by the replay; destination ones are history.
    this.db.exec(`DELETE FROM profiles; DELETE FROM identities; DELETE FROM offsets; DELETE FROM parts; DELETE FROM edges;
      DELETE FROM audience_members; DELETE FROM audience_counts; DELETE FROM audience_sizes; DELETE FROM outbox; DELETE FROM seen_messages; DELETE FROM dead_letters WHERE kind = 'transformation';`);
  }

  async getMeta(key: string): Promise<string | undefined> {
    return this.stmts.getMeta!.get(key) as string | undefined;
  }

  async setMeta(key: string, value: string): Promise<void> {
    this.stmts.setMeta!.run(key, value);
  }

  async countProfiles(): Promise<number> {
    return this.stmts.count!.get() as number;
  }

  /** Frames the background checkpointer copied back (undefined: checkpoints are SQLite's own). */
  get checkpointedFrames(): number | undefined {
    return this.checkpointer?.frames;
  }

  async close(): Promise<void> {
    await this.checkpointer?.close();
    this.db.close();
  }
}
