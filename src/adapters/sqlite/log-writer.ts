import type Database from 'better-sqlite3';
import { WalCheckpointer } from './checkpointer.js';
import { migrate, openSqlite, type SqliteDb } from './open.js';

/** A batch of records in columns: cheap to pass to a worker thread (half the cost of objects, measured). */
export interface AppendColumns {
  partitions: Int32Array;
  sourceIds: string[];
  messageIds: string[];
  receivedAtMs: Float64Array;
  payloads: string[];
}

/** Per record: 1 appended, 0 duplicate. */
export type AppendFlags = Uint8Array;

export interface LogWriterOptions {
  file: string;
  partitions: number;
  sync: 'full' | 'normal';
  dedupWindowMs: number;
  now?: () => number;
}

const MIGRATIONS = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
   CREATE TABLE dedup_0 (source_id TEXT NOT NULL, message_id TEXT NOT NULL, PRIMARY KEY (source_id, message_id)) WITHOUT ROWID;
   CREATE TABLE dedup_1 (source_id TEXT NOT NULL, message_id TEXT NOT NULL, PRIMARY KEY (source_id, message_id)) WITHOUT ROWID;`,
];

/** Meta key of a partition's lowest next offset, recorded by an erasure. */
export const floorKey = (p: number) => `floor_${p}`;

export function logTable(p: number): string {
  return `log_p${p}`;
}

/**
 * The write side of the embedded log: one SQLite file in WAL mode, one table per partition
 * whose rowid is the offset (no secondary index to maintain), and a two-generation dedup
 * table. Each generation lives one window; a (source, messageId) pair is looked up in both,
 * so anything seen within the last window is caught, and expiry is a DELETE of a whole table.
 * Synchronous: it runs on whichever thread owns the file.
 */
export class LogWriter {
  readonly partitions: number;
  private readonly db: SqliteDb;
  private next: number[] = [];
  private readonly inserts: Database.Statement[] = [];
  private readonly now: () => number;
  private readonly dedupWindowMs: number;
  private readonly tx: (c: AppendColumns) => { flags: AppendFlags; next: number[] };
  private dedupCurrent: 0 | 1;
  private dedupStartedAt: number;
  private dedupInsert!: Database.Statement;
  private dedupProbe!: Database.Statement;
  /** Until the first rotation the previous generation is empty: no need to probe it. */
  private previousEmpty = true;
  /**
   * WAL checkpoints in a thread of their own, as for the profile store (see WalCheckpointer):
   * SQLite's own ran inside the append that crossed 1,000 pages, copying them back and fsyncing
   * the file on the thread that parses requests. With them off that thread the plain freshness
   * p99 at 7,834 events/s went from 20.2–29.6 ms (median 25.9) to 18.9–30.5 (median 20.6) in six
   * rounds each (`npm run bench -- --freshness 7834`), and the ingest thread's writes from 21 to 14 MB/s.
   */
  private readonly checkpointer: WalCheckpointer | undefined;

  constructor(opts: LogWriterOptions) {
    this.now = opts.now ?? Date.now;
    this.dedupWindowMs = opts.dedupWindowMs;
    this.db = openSqlite(opts.file, { sync: opts.sync });
    migrate(this.db, MIGRATIONS);
    const stored = this.getMeta('partitions');
    // The partition count is fixed when the log is created: keys hash to partitions forever.
    this.partitions = stored ? Number(stored) : opts.partitions;
    if (!stored) this.setMeta('partitions', String(this.partitions));
    for (let p = 0; p < this.partitions; p++) {
      this.db.exec(`CREATE TABLE IF NOT EXISTS ${logTable(p)} (offset INTEGER PRIMARY KEY, received_at INTEGER NOT NULL, payload TEXT NOT NULL)`);
      this.inserts.push(this.db.prepare(`INSERT INTO ${logTable(p)} (offset, received_at, payload) VALUES (?, ?, ?)`));
      const max = this.db.prepare(`SELECT max(offset) FROM ${logTable(p)}`).pluck().get() as number | null;
      // An erasure may have removed the newest entries: their offsets are not given out again.
      this.next.push(Math.max((max ?? 0) + 1, Number(this.getMeta(floorKey(p)) ?? 0)));
    }
    this.dedupCurrent = Number(this.getMeta('dedup_current') ?? 0) as 0 | 1;
    this.dedupStartedAt = Number(this.getMeta('dedup_started_at') ?? this.now());
    this.prepareDedup();
    this.tx = this.db.transaction((c: AppendColumns) => this.appendInTransaction(c));
    this.checkpointer = opts.file === ':memory:' ? undefined : new WalCheckpointer(this.db, opts.file);
  }

  /** Frames the background checkpointer copied back so far (what the tests read). */
  get checkpointedFrames(): number {
    return this.checkpointer?.frames ?? 0;
  }

  private getMeta(key: string): string | undefined {
    return (this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  private setMeta(key: string, value: string): void {
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  private prepareDedup(): void {
    const previous = 1 - this.dedupCurrent;
    this.dedupInsert = this.db.prepare(`INSERT OR IGNORE INTO dedup_${this.dedupCurrent} (source_id, message_id) VALUES (?, ?)`);
    this.dedupProbe = this.db.prepare(`SELECT 1 FROM dedup_${previous} WHERE source_id = ? AND message_id = ?`).pluck();
    this.previousEmpty = this.db.prepare(`SELECT 1 FROM dedup_${previous} LIMIT 1`).get() === undefined;
  }

  /** Runs inside the append transaction, so rotation and the appends commit together. */
  private rotateDedupIfDue(): void {
    if (this.now() - this.dedupStartedAt < this.dedupWindowMs) return;
    const older = (1 - this.dedupCurrent) as 0 | 1;
    this.db.exec(`DELETE FROM dedup_${older}`);
    this.dedupCurrent = older;
    this.dedupStartedAt = this.now();
    this.setMeta('dedup_current', String(older));
    this.setMeta('dedup_started_at', String(this.dedupStartedAt));
    this.prepareDedup();
  }

  private appendInTransaction(c: AppendColumns): { flags: AppendFlags; next: number[] } {
    this.rotateDedupIfDue();
    const n = c.payloads.length;
    const out = new Uint8Array(n);
    const next = this.next.slice();
    for (let i = 0; i < n; i++) {
      const source = c.sourceIds[i]!;
      const id = c.messageIds[i]!;
      if (!this.previousEmpty && this.dedupProbe.get(source, id) !== undefined) continue;
      if (this.dedupInsert.run(source, id).changes === 0) continue;
      const p = c.partitions[i]!;
      this.inserts[p]!.run(next[p]!, c.receivedAtMs[i]!, c.payloads[i]!);
      next[p]! += 1;
      out[i] = 1;
    }
    return { flags: out, next };
  }

  /** Appends in one transaction; durable (per `sync`) when it returns. */
  append(c: AppendColumns): AppendFlags {
    const { flags, next } = this.tx(c);
    this.next = next; // only after the commit: a rolled-back transaction takes no offsets
    return flags;
  }

  nextOffsets(): number[] {
    return this.next.slice();
  }

  async close(): Promise<void> {
    await this.checkpointer?.close();
    this.db.close();
  }
}
