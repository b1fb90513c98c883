import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { MosaicError } from '../../errors.js';
import type { AppendOutcome, AppendRecord, EventLog, EventLogCapabilities, LogEntry } from '../../ports/event-log.js';
import { GroupCommit } from '../group-commit.js';
import { LogWriter, floorKey, logTable, type AppendColumns, type AppendFlags, type LogWriterOptions } from './log-writer.js';
import type { FromWriter, ToWriter } from './log-writer-thread.js';
import { openSqlite, scrubSqlite, type SqliteDb } from './open.js';

export interface SqliteEventLogOptions {
  /** Directory holding log.db. */
  dir: string;
  partitions: number;
  sync: 'full' | 'normal';
  dedupWindowMs: number;
  maxPendingEvents: number;
  now?: () => number;
  onCommit?: (events: number, seconds: number) => void;
  /**
   * inline: this thread writes (tests, tools); thread: a worker thread owns the write
   * connection, so SQLite's work and fsyncs leave the event loop that parses requests;
   * none: a reader for another thread or process, which reads end offsets from the file.
   */
  writer?: 'inline' | 'thread' | 'none';
}

function toColumns(records: readonly AppendRecord[]): AppendColumns {
  const n = records.length;
  const c: AppendColumns = { partitions: new Int32Array(n), sourceIds: new Array(n), messageIds: new Array(n), receivedAtMs: new Float64Array(n), payloads: new Array(n) };
  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    c.partitions[i] = r.partition;
    c.sourceIds[i] = r.sourceId;
    c.messageIds[i] = r.messageId;
    c.receivedAtMs[i] = r.receivedAtMs;
    c.payloads[i] = r.payload;
  }
  return c;
}

const outcomes = (flags: AppendFlags): AppendOutcome[] => Array.from(flags, (f) => (f ? 'appended' : 'duplicate'));

/** The log writer in a worker thread, restarted if it dies (its appends then fail and are retried by clients). */
class WriterThread {
  next: number[] = [];
  private worker!: Worker;
  /** False while the thread is starting or restarting: appends are refused, not lost. */
  private alive = false;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (f: AppendFlags) => void; reject: (e: unknown) => void }>();
  private closing = false;

  constructor(private readonly opts: LogWriterOptions) {}

  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.worker = new Worker(new URL('./log-writer-thread.js', import.meta.url), { workerData: this.opts });
      this.worker.on('message', (msg: FromWriter) => {
        if (msg.type === 'ready') {
          this.next = msg.next;
          this.alive = true;
          resolve();
        } else if (msg.type === 'appended') {
          this.next = msg.next;
          this.pending.get(msg.id)?.resolve(msg.flags);
          this.pending.delete(msg.id);
        } else if (msg.type === 'failed') {
          this.pending.get(msg.id)?.reject(new MosaicError('MOSAIC_INTERNAL', { message: `The log could not be written: ${msg.message}` }));
          this.pending.delete(msg.id);
        }
      });
      this.worker.on('error', reject);
      this.worker.on('exit', () => {
        this.alive = false;
        // A commit may have landed before the thread died: the client retries, and dedup drops what was written.
        for (const p of this.pending.values()) p.reject(new MosaicError('MOSAIC_OVERLOADED_LOG', { message: 'The log writer stopped mid-request; retry (a message already written is not stored twice).', retryAfter: 1 }));
        this.pending.clear();
        if (!this.closing) setTimeout(() => void this.start().catch(() => undefined), 200).unref();
      });
    });
  }

  append(columns: AppendColumns): Promise<AppendFlags> {
    if (!this.alive) return Promise.reject(new MosaicError('MOSAIC_OVERLOADED_LOG', { message: 'The log writer is restarting; retry in a moment.', retryAfter: 1 }));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'append', id, columns } satisfies ToWriter);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await new Promise<void>((resolve) => {
      this.worker.once('exit', () => resolve());
      this.worker.postMessage({ type: 'close' } satisfies ToWriter);
    });
  }
}

/**
 * The embedded EventLog: appends go through a group commit to a LogWriter (on this thread or
 * its own); reads use their own read-only connection, which sees every committed append (WAL).
 */
export class SqliteEventLog implements EventLog {
  readonly partitions: number;
  readonly capabilities: EventLogCapabilities;
  private readonly reader: SqliteDb;
  private readonly reads: Database.Statement[] = [];
  private readonly maxOffsets: Database.Statement[] = [];
  private readonly committer: GroupCommit<AppendRecord, AppendOutcome> | undefined;
  private readonly events = new EventEmitter();

  /** A log whose writer runs on its own thread. */
  static async open(opts: SqliteEventLogOptions): Promise<SqliteEventLog> {
    if (opts.writer !== 'thread') return new SqliteEventLog(opts);
    const thread = new WriterThread({ file: join(opts.dir, 'log.db'), partitions: opts.partitions, sync: opts.sync, dedupWindowMs: opts.dedupWindowMs });
    await thread.start();
    return new SqliteEventLog(opts, thread);
  }

  private readonly thread: WriterThread | undefined;
  private readonly dir: string;
  private readonly inline: LogWriter | undefined;

  /** Inline writer or none; for a writer thread use SqliteEventLog.open(). */
  constructor(opts: SqliteEventLogOptions, thread?: WriterThread) {
    this.thread = thread;
    this.dir = opts.dir;
    if (opts.writer === 'thread' && !thread) throw new Error('use SqliteEventLog.open() for a writer thread');
    // The writer first: it creates the file and its tables, which the reader then opens.
    this.inline =
      opts.writer === 'inline' || opts.writer === undefined
        ? new LogWriter({ file: join(opts.dir, 'log.db'), partitions: opts.partitions, sync: opts.sync, dedupWindowMs: opts.dedupWindowMs, ...(opts.now ? { now: opts.now } : {}) })
        : undefined;
    this.capabilities = { dedupWindowMs: opts.dedupWindowMs, dedup: 'event', offsetStride: 1 };
    this.reader = openSqlite(join(opts.dir, 'log.db'), { readonly: true });
    this.partitions = Number((this.reader.prepare("SELECT value FROM meta WHERE key = 'partitions'").pluck().get() as string | undefined) ?? opts.partitions);
    for (let p = 0; p < this.partitions; p++) {
      this.reads.push(this.reader.prepare(`SELECT offset, received_at, payload FROM ${logTable(p)} WHERE offset >= ? ORDER BY offset LIMIT ?`).raw());
      this.maxOffsets.push(this.reader.prepare(`SELECT max(max(offset) + 1, coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = '${floorKey(p)}'), 0)) FROM ${logTable(p)}`).pluck());
    }
    const writer = this.inline;
    const commit = writer
      ? (records: AppendRecord[]) => outcomes(writer.append(toColumns(records)))
      : thread
        ? (records: AppendRecord[]) => thread.append(toColumns(records)).then(outcomes)
        : undefined;
    this.committer = commit && new GroupCommit<AppendRecord, AppendOutcome>(commit, {
      maxPending: opts.maxPendingEvents,
      overloadCode: 'MOSAIC_OVERLOADED_LOG',
      onCommit: (n, s) => {
        opts.onCommit?.(n, s);
        this.events.emit('append');
      },
    });
  }

  append(records: readonly AppendRecord[]): Promise<AppendOutcome[]> {
    if (!this.committer) return Promise.reject(new Error('this SqliteEventLog was opened without a writer'));
    return this.committer.submit(records);
  }

  async read(partition: number, from: number, max: number): Promise<LogEntry[]> {
    const rows = this.reads[partition]!.all(from, max) as [number, number, string][];
    return rows.map(([offset, receivedAtMs, payload]) => ({ partition, offset, receivedAtMs, payload }));
  }

  async endOffsets(): Promise<number[]> {
    if (this.inline) return this.inline.nextOffsets();
    if (this.thread) return this.thread.next.slice();
    return this.maxOffsets.map((s) => Math.max(1, (s.get() as number | null) ?? 1));
  }

  /**
   * Deletes the entries on a connection of its own (appends wait on SQLite's lock meanwhile),
   * records each partition's end so its offsets are not reused, then scrubs the file.
   */
  async erase(positions: ReadonlyMap<number, readonly number[]>): Promise<number> {
    const ends = await this.endOffsets();
    const db = openSqlite(join(this.dir, 'log.db'), { sync: 'full' });
    try {
      const floor = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))');
      const removed = db.transaction(() => {
        let n = 0;
        // The dedup window remembers (sourceId, messageId), and a messageId may name the person
        // (audience events carry the profile id): forgotten too; the suppression list drops a repeat.
        const forget = [0, 1].map((t) => db.prepare(`DELETE FROM dedup_${t} WHERE source_id = ? AND message_id = ?`));
        for (const [p, offsets] of positions) {
          const del = db.prepare(`DELETE FROM ${logTable(p)} WHERE offset = ? RETURNING payload`).pluck();
          for (const o of offsets) {
            const payload = del.get(o) as string | undefined;
            if (payload === undefined) continue;
            n++;
            const e = JSON.parse(payload) as { sourceId?: string; messageId?: string };
            for (const f of forget) f.run(e.sourceId ?? '', e.messageId ?? '');
          }
          floor.run(floorKey(p), String(ends[p] ?? 1));
        }
        return n;
      })();
      scrubSqlite(db);
      return removed;
    } finally {
      db.close();
    }
  }

  pendingAppends(): number {
    return this.committer?.pendingItems ?? 0;
  }

  onAppend(listener: () => void): () => void {
    this.events.on('append', listener);
    return () => this.events.off('append', listener);
  }

  async close(): Promise<void> {
    await this.committer?.close();
    await this.thread?.close();
    await this.inline?.close();
    this.reader.close();
  }
}
