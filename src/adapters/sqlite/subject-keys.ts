import { join } from 'node:path';
import type { SubjectKey, SubjectKeys } from '../../ports/subject-keys.js';
import { GroupCommit } from '../group-commit.js';
import { newSubjectKey, subjectHash } from '../subject-key-rows.js';
import { migrate, openSqlite, scrubSqlite, type SqliteDb } from './open.js';

const MIGRATIONS = [`CREATE TABLE subject_keys (subject_hash TEXT PRIMARY KEY, id TEXT NOT NULL UNIQUE, key BLOB NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID;`];

/** Subject keys in `keys.db` in the data directory. */
export class SqliteSubjectKeys implements SubjectKeys {
  private readonly db: SqliteDb;
  private readonly stmts;

  constructor(opts: { dir: string }) {
    // fsynced: an entry encrypted under a key that a power cut lost could never be read.
    this.db = openSqlite(opts.dir === ':memory:' ? ':memory:' : join(opts.dir, 'keys.db'), { sync: 'full', cacheMb: 4 });
    migrate(this.db, MIGRATIONS);
    this.stmts = {
      get: this.db.prepare('SELECT id, key FROM subject_keys WHERE subject_hash = ?'),
      add: this.db.prepare('INSERT OR IGNORE INTO subject_keys (subject_hash, id, key, at) VALUES (?, ?, ?, ?)'),
      byId: this.db.prepare('SELECT key FROM subject_keys WHERE id = ?').pluck(),
      destroy: this.db.prepare('DELETE FROM subject_keys WHERE subject_hash = ?'),
    };
    // New keys of concurrent requests share one transaction and one fsync.
    const create = this.db.transaction((subjects: string[]) =>
      subjects.map((s) => {
        const h = subjectHash(s);
        const fresh = newSubjectKey();
        this.stmts.add.run(h, fresh.id, fresh.key, Date.now());
        return this.stmts.get.get(h) as SubjectKey; // another writer's, if it was first
      }),
    );
    this.creates = new GroupCommit<string, SubjectKey>((subjects) => create.immediate(subjects), { maxPending: 1_000_000, overloadCode: 'MOSAIC_OVERLOADED_LOG' });
  }

  private readonly creates: GroupCommit<string, SubjectKey>;

  async keysFor(subjects: readonly string[]): Promise<Map<string, SubjectKey>> {
    const out = new Map<string, SubjectKey>();
    const missing: string[] = [];
    for (const s of subjects) {
      if (out.has(s)) continue;
      const row = this.stmts.get.get(subjectHash(s)) as SubjectKey | undefined;
      if (row) out.set(s, row);
      else missing.push(s);
    }
    if (missing.length) {
      const made = await this.creates.submit(missing);
      missing.forEach((s, i) => out.set(s, made[i]!));
    }
    return out;
  }

  async keysById(ids: readonly string[]): Promise<Map<string, Buffer>> {
    const out = new Map<string, Buffer>();
    for (const id of ids) {
      const key = this.stmts.byId.get(id) as Buffer | undefined;
      if (key) out.set(id, key);
    }
    return out;
  }

  async destroy(subjects: readonly string[]): Promise<number> {
    return this.db.transaction(() => subjects.reduce((n, s) => n + this.stmts.destroy.run(subjectHash(s)).changes, 0))();
  }

  async scrub(): Promise<boolean> {
    return scrubSqlite(this.db);
  }

  async close(): Promise<void> {
    await this.creates.close();
    this.db.close();
  }
}
