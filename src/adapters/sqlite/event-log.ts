import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import type { AppendOutcome, AppendRecord, EventLog, LogEntry } from '../../ports/event-log.js';
import { GroupCommit } from '../group-commit.js';
import { migrate, openSqlite, type SqliteDb } from './open.js';
import type Database from 'better-sqlite3';

export interface SqliteEventLogOptions {
  /** Directory holding log.db. ':memory:' for tests. */
  dir: string;
  partitions: number;
  sync: 'full' | 'normal';
  dedupWindowMs: number;
  maxPendingEvents: number;
  now?: () => number;
  onCommit?: (events: number, seconds: number) => void;
  /**
   * A reader for another thread or process: it never appends, and reads the end offsets from
   * the file (the writer's in-memory counters are not shared). The writer must have created the log.
   */
  readOnly?: boolean;
}

const MIGRATIONS = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
   CREATE TABLE dedup_0 (source_id TEXT NOT NULL, message_id TEXT NOT NULL, PRIMARY KEY (source_id, message_id)) WITHOUT ROWID;
   CREATE TABLE dedup_1 (source_id TEXT NOT NULL, message_id TEXT NOT NULL, PRIMARY KEY (source_id, message_id)) WITHOUT ROWID;`,
];

/**
 * The embedded log: one SQLite file in WAL mode, one table per partition whose rowid is the
 * offset (no secondary index to maintain), and a two-generation dedup table. Each generation
 * lives one window; a pair (sourceId, messageId) is looked up in both, so anything seen
 * within the last window is caught, and expiry is a cheap DELETE of a whole table.
 */
export class SqliteEventLog implements EventLog {
  readonly partitions: number;
  readonly capabilities: { dedupWindowMs: number };
  private readonly db: SqliteDb;
  private readonly next: number[];
  private readonly inserts: Database.Statement[];
  private readonly reads: Database.Statement[];
  private readonly committer: GroupCommit<AppendRecord, AppendOutcome> | undefined;
  private readonly maxOffsets: Database.Statement[] = [];
  private readonly readOnly: boolean;
  private readonly events = new EventEmitter();
  private readonly now: () => number;
  private dedupCurrent: 0 | 1 = 0;
  private dedupStartedAt = 0;
  private dedupInsert!: Database.Statement;
  private dedupProbe!: Database.Statement;
  /** Until the first rotation the previous generation is empty: no need to probe it. */
  private previousEmpty = true;

  constructor(opts: SqliteEventLogOptions) {
    this.now = opts.now ?? Date.now;
    this.readOnly = opts.readOnly ?? false;
    this.db = openSqlite(opts.dir === ':memory:' ? ':memory:' : join(opts.dir, 'log.db'), { sync: opts.sync, readonly: this.readOnly });
    if (!this.readOnly) migrate(this.db, MIGRATIONS);
    const stored = this.getMeta('partitions');
    // The partition count is fixed when the log is created: keys hash to partitions forever.
    this.partitions = stored ? Number(stored) : opts.partitions;
    if (!stored) this.setMeta('partitions', String(this.partitions));
    this.capabilities = { dedupWindowMs: opts.dedupWindowMs };
    this.next = [];
    this.inserts = [];
    this.reads = [];
    for (let p = 0; p < this.partitions; p++) {
      if (!this.readOnly) {
        this.db.exec(`CREATE TABLE IF NOT EXISTS log_p${p} (offset INTEGER PRIMARY KEY, received_at INTEGER NOT NULL, payload TEXT NOT NULL)`);
        this.inserts.push(this.db.prepare(`INSERT INTO log_p${p} (offset, received_at, payload) VALUES (?, ?, ?)`));
      }
      this.maxOffsets.push(this.db.prepare(`SELECT max(offset) FROM log_p${p}`).pluck());
      this.next.push(((this.maxOffsets[p]!.get() as number | null) ?? 0) + 1);
      this.reads.push(
        this.db.prepare(`SELECT offset, received_at, payload FROM log_p${p} WHERE offset >= ? ORDER BY offset LIMIT ?`).raw(),
      );
    }
    if (this.readOnly) {
      this.committer = undefined;
      return;
    }
    this.dedupCurrent = Number(this.getMeta('dedup_current') ?? 0) as 0 | 1;
    this.dedupStartedAt = Number(this.getMeta('dedup_started_at') ?? this.now());
    this.prepareDedup();
    const tx = this.db.transaction((records: AppendRecord[]) => this.appendSync(records));
    this.committer = new GroupCommit<AppendRecord, AppendOutcome>((records) => tx(records), {
      maxPending: opts.maxPendingEvents,
      overloadCode: 'MOSAIC_OVERLOADED_LOG',
      onCommit: (n, s) => {
        opts.onCommit?.(n, s);
        this.events.emit('append');
      },
    });
  }

  private getMeta(key: string): string | undefined {
    return (this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  private setMeta(key: string, value: string): void {
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  private prepareDedup(): void {
    this.dedupInsert = this.db.prepare(`INSERT OR IGNORE INTO dedup_${this.dedupCurrent} (source_id, message_id) VALUES (?, ?)`);
    this.dedupProbe = this.db.prepare(`SELECT 1 FROM dedup_${1 - this.dedupCurrent} WHERE source_id = ? AND message_id = ?`).pluck();
    this.previousEmpty = this.db.prepare(`SELECT 1 FROM dedup_${1 - this.dedupCurrent} LIMIT 1`).get() === undefined;
  }

  /** Runs inside the append transaction, so rotation and the appends commit together. */
  private rotateDedupIfDue(): void {
    if (this.now() - this.dedupStartedAt < this.capabilities.dedupWindowMs) return;
    const older = (1 - this.dedupCurrent) as 0 | 1;
    this.db.exec(`DELETE FROM dedup_${older}`);
    this.dedupCurrent = older;
    this.dedupStartedAt = this.now();
    this.setMeta('dedup_current', String(older));
    this.setMeta('dedup_started_at', String(this.dedupStartedAt));
    this.prepareDedup();
  }

  private appendSync(records: AppendRecord[]): AppendOutcome[] {
    this.rotateDedupIfDue();
    const out: AppendOutcome[] = new Array(records.length);
    const next = this.next.slice();
    // If anything throws, the transaction rolls back and the in-memory offsets stay as they were.
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      const seenBefore = !this.previousEmpty && this.dedupProbe.get(r.sourceId, r.messageId) !== undefined;
      if (seenBefore || this.dedupInsert.run(r.sourceId, r.messageId).changes === 0) {
        out[i] = 'duplicate';
        continue;
      }
      const p = r.partition;
      this.inserts[p]!.run(next[p]!, r.receivedAtMs, r.payload);
      next[p]! += 1;
      out[i] = 'appended';
    }
    for (let p = 0; p < next.length; p++) this.next[p] = next[p]!;
    return out;
  }

  append(records: readonly AppendRecord[]): Promise<AppendOutcome[]> {
    if (!this.committer) return Promise.reject(new Error('this SqliteEventLog was opened read-only'));
    return this.committer.submit(records);
  }

  async read(partition: number, from: number, max: number): Promise<LogEntry[]> {
    const rows = this.reads[partition]!.all(from, max) as [number, number, string][];
    return rows.map(([offset, receivedAtMs, payload]) => ({ partition, offset, receivedAtMs, payload }));
  }

  async endOffsets(): Promise<number[]> {
    if (this.readOnly) return this.maxOffsets.map((s) => ((s.get() as number | null) ?? 0) + 1);
    return this.next.slice();
  }

  pendingAppends(): number {
    return this.committer?.pendingItems ?? 0;
  }

  onAppend(listener: () => void): () => void {
    this.events.on('append', listener);
    return () => this.events.off('append', listener);
  }

  async close(): Promise<void> {
    this.committer?.close();
    this.db.close();
  }
}
