import { join } from 'node:path';
import type { Vault, VaultEntry } from '../../ports/vault.js';
import { GroupCommit } from '../group-commit.js';
import type { VaultCipher } from '../../privacy/vault-cipher.js';
import { migrate, openSqlite, scrubSqlite, type SqliteDb } from './open.js';

const MIGRATIONS = [`CREATE TABLE vault (token TEXT PRIMARY KEY, key_id TEXT NOT NULL, sealed BLOB NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID;`];

/** The vault in `vault.db` in the data directory: one row per token, the value sealed. */
export class SqliteVault implements Vault {
  private readonly db: SqliteDb;
  private readonly stmts;

  constructor(
    opts: { dir: string },
    private readonly cipher: VaultCipher,
  ) {
    // fsynced on commit: a value the log has a token for must not be lost to a power cut.
    this.db = openSqlite(opts.dir === ':memory:' ? ':memory:' : join(opts.dir, 'vault.db'), { sync: 'full', cacheMb: 4 });
    migrate(this.db, MIGRATIONS);
    this.stmts = {
      keep: this.db.prepare('INSERT OR IGNORE INTO vault (token, key_id, sealed, at) VALUES (?, ?, ?, ?)'),
      reveal: this.db.prepare('SELECT key_id AS keyId, sealed, at FROM vault WHERE token = ?'),
      forget: this.db.prepare('DELETE FROM vault WHERE token = ?'),
      count: this.db.prepare('SELECT count(*) FROM vault').pluck(),
    };
    // Concurrent requests' new values share one transaction and one fsync.
    const write = this.db.transaction((entries: { token: string; value: string }[]) => {
      const at = Date.now();
      for (const e of entries) this.stmts.keep.run(e.token, this.cipher.active, this.cipher.seal(e.token, e.value), at);
      return entries.map(() => undefined);
    });
    this.writes = new GroupCommit<{ token: string; value: string }, undefined>((entries) => write(entries), { maxPending: 1_000_000, overloadCode: 'MOSAIC_OVERLOADED_LOG' });
  }

  private readonly writes: GroupCommit<{ token: string; value: string }, undefined>;

  async keep(entries: readonly { token: string; value: string }[]): Promise<void> {
    await this.writes.submit(entries);
  }

  async reveal(token: string): Promise<VaultEntry | undefined> {
    const row = this.stmts.reveal.get(token) as { keyId: string; sealed: Buffer; at: number } | undefined;
    return row && { token, value: this.cipher.open(token, row.keyId, row.sealed), keyId: row.keyId, at: row.at };
  }

  async forget(tokens: readonly string[]): Promise<number> {
    return this.db.transaction(() => tokens.reduce((n, t) => n + this.stmts.forget.run(t).changes, 0))();
  }

  async count(): Promise<number> {
    return this.stmts.count.get() as number;
  }

  async scrub(): Promise<boolean> {
    return scrubSqlite(this.db);
  }

  async close(): Promise<void> {
    await this.writes.close();
    this.db.close();
  }
}
