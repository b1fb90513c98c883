/**
 * The durable, partitioned, replayable event log. Shaped to fit Kafka (partitions, offsets,
 * idempotent producers) and NATS JetStream (per-subject sequences, duplicate window), not
 * only the embedded SQLite log.
 */
export interface AppendRecord {
  partition: number;
  sourceId: string;
  messageId: string;
  receivedAtMs: number;
  /** The envelope as JSON. */
  payload: string;
  /** Whom it belongs to (core/envelope.ts logSubjectOf), where the writer knows; else read from the payload when needed. */
  subject?: string;
}

export interface LogEntry {
  partition: number;
  /** Increases within a partition; consumers resume at the last offset + 1. */
  offset: number;
  receivedAtMs: number;
  payload: string;
}

export type AppendOutcome = 'appended' | 'duplicate';

export interface EventLogCapabilities {
  /** (sourceId, messageId) pairs seen within this window are dropped (see `dedup`). */
  dedupWindowMs: number;
  /**
   * 'event': every repeated pair is dropped at append. 'message': only some are (a repeated
   * single event, an identical repeated append), the rest reach the log and consumers that
   * count events drop them by (sourceId, messageId) within the window.
   */
  dedup: 'event' | 'message';
  /**
   * Consecutive entries' offsets differ by up to this much (1: offsets count entries). A lag
   * measured in offsets is divided by it to estimate entries.
   */
  offsetStride: number;
}

export interface EventLog {
  readonly partitions: number;
  readonly capabilities: EventLogCapabilities;
  /**
   * Appends records; resolves only once they are durable (one outcome per record, in order).
   * Rejects with MOSAIC_OVERLOADED_LOG when too much is already waiting.
   */
  append(records: readonly AppendRecord[]): Promise<AppendOutcome[]>;
  /** Up to `max` entries of one partition with offset >= `from`, in offset order. */
  read(partition: number, from: number, max: number): Promise<LogEntry[]>;
  /** Next offset to be written, per partition. */
  endOffsets(): Promise<number[]>;
  /** Records accepted but not yet durable (for back-pressure and readiness). */
  pendingAppends(): number;
  /**
   * Removes entries for good (an erasure), leaving no byte of them in the log's files; offsets
   * are never reused. Absent where the log cannot remove single entries.
   */
  erase?(positions: ReadonlyMap<number, readonly number[]>): Promise<number>;
  /**
   * Makes every entry of these subjects (logSubjectOf) unreadable for good, where entries are
   * encrypted per subject (crypto-shredding, for logs that cannot remove single entries).
   * Readers no longer see them. Resolves with the keys destroyed.
   */
  shred?(subjects: readonly string[]): Promise<number>;
  /** Called after each durable append in this process: a wake-up hint, not a delivery. */
  onAppend(listener: () => void): () => void;
  close(): Promise<void>;
}
