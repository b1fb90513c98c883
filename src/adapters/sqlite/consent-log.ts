import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { ERASED_SUBJECT, link, type ChainedRecord, type ConsentRecord } from '../../core/hash-chain.js';
import type { ConsentLog } from '../../ports/consent-log.js';
import { toChained, type ConsentRow } from '../consent-rows.js';
import { migrate, openSqlite, scrubSqlite, type SqliteDb } from './open.js';

const MIGRATIONS = [
  `CREATE TABLE consent_log (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, subject TEXT NOT NULL, purposes TEXT NOT NULL, source TEXT NOT NULL,
                            message_id TEXT NOT NULL UNIQUE, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);`,
  `ALTER TABLE consent_log ADD COLUMN commitment TEXT; ALTER TABLE consent_log ADD COLUMN salt TEXT;`,
];

/** privacy.db in the data directory: one writer (a BEGIN IMMEDIATE transaction) extends the chain at a time. */
export class SqliteConsentLog implements ConsentLog {
  private readonly db: SqliteDb;
  private readonly appendTx: Database.Transaction<(records: readonly ConsentRecord[]) => ChainedRecord[]>;

  constructor(opts: { dir: string }) {
    this.db = openSqlite(opts.dir === ':memory:' ? ':memory:' : join(opts.dir, 'privacy.db'), { sync: 'full', cacheMb: 2 });
    migrate(this.db, MIGRATIONS);
    const head = this.db.prepare('SELECT seq, hash FROM consent_log ORDER BY seq DESC LIMIT 1');
    const known = this.db.prepare('SELECT 1 FROM consent_log WHERE message_id = ?').pluck();
    const insert = this.db.prepare('INSERT INTO consent_log (seq, at, subject, purposes, source, message_id, prev_hash, hash, commitment, salt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    this.appendTx = this.db.transaction((records: readonly ConsentRecord[]) => {
      const seen = new Set<string>();
      const fresh = records.filter((r) => !seen.has(r.messageId) && !known.get(r.messageId) && seen.add(r.messageId));
      const chained = link(head.get() as { seq: number; hash: string } | undefined, fresh);
      for (const c of chained) insert.run(c.seq, c.at, c.subject, JSON.stringify(c.purposes), c.source, c.messageId, c.prevHash, c.hash, c.commitment, c.salt);
      return chained;
    });
  }

  async append(records: readonly ConsentRecord[]): Promise<ChainedRecord[]> {
    return records.length ? this.appendTx.immediate(records) : [];
  }

  async read(afterSeq: number, limit: number): Promise<ChainedRecord[]> {
    return (this.db.prepare('SELECT * FROM consent_log WHERE seq > ? ORDER BY seq LIMIT ?').all(afterSeq, limit) as ConsentRow[]).map(toChained);
  }

  async redact(subjects: readonly string[]): Promise<number> {
    const update = this.db.prepare('UPDATE consent_log SET subject = ?, salt = NULL WHERE subject = ?');
    const n = this.db.transaction(() => subjects.reduce((sum, s) => sum + update.run(ERASED_SUBJECT, s).changes, 0))();
    if (n) scrubSqlite(this.db);
    return n;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
