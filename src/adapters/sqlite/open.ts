import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type SqliteDb = Database.Database;

/**
 * Opens a SQLite file in WAL mode. `sync: 'full'` fsyncs the WAL on every commit, so a
 * committed transaction survives power loss; 'normal' survives a process crash only (and
 * fsyncs at checkpoints); 'off' never fsyncs: a process crash is survived, a power loss may
 * corrupt the file (only for stores that can be rebuilt).
 */
export function openSqlite(file: string, opts: { sync?: 'full' | 'normal' | 'off'; cacheMb?: number; readonly?: boolean } = {}): SqliteDb {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file, { readonly: opts.readonly ?? false });
  if (!opts.readonly) db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${opts.sync === 'normal' ? 'NORMAL' : opts.sync === 'off' ? 'OFF' : 'FULL'}`);
  db.pragma('busy_timeout = 5000');
  // Negative = KiB. Bounded per connection: memory does not grow with the data (invariant 6).
  db.pragma(`cache_size = -${(opts.cacheMb ?? 32) * 1024}`);
  db.pragma('temp_store = MEMORY');
  return db;
}

/** Applies numbered migrations once each, recorded in user_version. */
export function migrate(db: SqliteDb, migrations: readonly string[]): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (let v = current; v < migrations.length; v++) {
    db.transaction(() => {
      db.exec(migrations[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

/**
 * Leaves no byte of deleted rows in the file (after an erasure): VACUUM rebuilds the database
 * from its live rows (an update leaves old row versions in pages' free space, which deleting
 * the row does not clear), then the WAL, which holds earlier page versions, is copied back and
 * truncated. False when a reader on another connection kept the WAL from being truncated
 * within a few seconds: the next scrub finishes it.
 */
export function scrubSqlite(db: SqliteDb): boolean {
  db.exec('VACUUM');
  for (let i = 0; i < 50; i++) {
    const [row] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
    if (row?.busy === 0) return true;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  }
  return false;
}
