import { mkdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setImmediate } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { DuckDBConnection } from '@duckdb/node-api';
import { BACKGROUND_DUCKDB, openDuckDb, sqlString } from '../adapters/duckdb/duckdb.js';
import type { EventLog, LogEntry } from '../ports/event-log.js';
import type { Metrics } from '../observe/metrics.js';
import { inLake } from './lake-lock.js';
import { eventFilePath, fsyncDir, fsyncFile, readManifest, removeUncommitted, writeManifest, type LakeFile } from './manifest.js';

/** Where a partition is read from before anything was copied: no log has an offset below it. */
const FIRST_OFFSET = 1;

export interface OffloadOptions {
  lakeDir: string;
  /** Events per partition per step (one set of files per step). */
  chunkEvents: number;
  metrics?: Metrics;
  logger?: Logger;
  /** What the lake may copy (consent); absent: everything. */
  admission?: LakeAdmission;
}

export interface LakeAdmission {
  /** How far each partition may be copied now, given the log's ends. */
  readable(ends: readonly number[]): Promise<number[]>;
  /** What the lake keeps of a step's entries (some dropped, some changed); the partition's position still moves past the whole step. */
  admit(entries: LogEntry[]): Promise<LogEntry[]>;
}

export interface OffloadProgress {
  partition: number;
  /** Events read from the log in this run so far (copied, or left out for want of consent). */
  events: number;
  files: number;
}

/**
 * The envelope as typed columns, and properties/traits/context as JSON. Parsed by DuckDB from the
 * log's JSON (not in JavaScript): one pass in C++ per step. The Hive partition columns
 * (event_date, event_type) are in the path, not in the files, as Spark and Athena expect.
 */
export const COLUMNS = `
  j->>'messageId' AS message_id,
  j->>'type' AS type,
  j->>'event' AS event,
  j->>'name' AS name,
  j->>'userId' AS user_id,
  j->>'anonymousId' AS anonymous_id,
  j->>'groupId' AS group_id,
  j->>'previousId' AS previous_id,
  TRY_CAST(j->>'timestamp' AS TIMESTAMPTZ) AS "timestamp",
  TRY_CAST(j->>'originalTimestamp' AS TIMESTAMPTZ) AS original_timestamp,
  TRY_CAST(j->>'sentAt' AS TIMESTAMPTZ) AS sent_at,
  TRY_CAST(j->>'receivedAt' AS TIMESTAMPTZ) AS received_at,
  j->>'sourceId' AS source_id,
  j->'properties' AS properties,
  j->'traits' AS traits,
  j->'context' AS context,
  p AS log_partition,
  o AS log_offset`;

/**
 * Copies the log to Parquet files in a Hive layout, exactly once: each step's files have names
 * derived from the log offsets they hold, are written to a temporary name, fsynced and renamed,
 * and become part of the lake when the manifest naming them (with the partition's new position)
 * is written. A crash at any point leaves files the next run removes and writes again.
 */
export class Offloader {
  private running: Promise<number> | undefined;

  constructor(
    private readonly log: EventLog,
    private readonly opts: OffloadOptions,
  ) {}

  /** Copies everything appended so far; resolves with the number of events copied. One run at a time. */
  run(onProgress?: (p: OffloadProgress) => void): Promise<number> {
    this.running ??= inLake(this.opts.lakeDir, () => this.runOnce(onProgress)).finally(() => (this.running = undefined));
    return this.running;
  }

  /** Events in the log not yet in the lake (an estimate where offsets leave gaps). */
  async lag(): Promise<number> {
    const manifest = readManifest(this.opts.lakeDir);
    const ends = await this.log.endOffsets();
    const stride = this.log.capabilities.offsetStride;
    return ends.reduce((sum, end, p) => sum + Math.ceil(Math.max(0, end - (manifest.next[p] ?? FIRST_OFFSET)) / stride), 0);
  }

  private async runOnce(onProgress?: (p: OffloadProgress) => void): Promise<number> {
    const { lakeDir, metrics, logger } = this.opts;
    const manifest = readManifest(lakeDir);
    const logEnds = await this.log.endOffsets();
    const ends = this.opts.admission ? await this.opts.admission.readable(logEnds) : logEnds;
    // Nothing new: no walk of the lake's folders, no DuckDB (this runs on a timer beside the APIs).
    // Files a crashed run left are not in the manifest, so no reader sees them; the next copy removes them.
    if (ends.every((end, p) => (manifest.next[p] ?? FIRST_OFFSET) >= end)) return 0;
    const removed = removeUncommitted(lakeDir, manifest);
    if (removed) logger?.warn({ removed }, 'lake: removed files of an offload that did not finish; copying them again');
    const tmp = join(lakeDir, '_mosaic', 'tmp');
    mkdirSync(tmp, { recursive: true });
    const duck = await openDuckDb({ ...BACKGROUND_DUCKDB, tempDirectory: tmp });
    let read = 0;
    let copied = 0;
    let files = 0;
    try {
      for (let p = 0; p < this.log.partitions; p++) {
        for (;;) {
          const from = manifest.next[p] ?? FIRST_OFFSET;
          if (from >= (ends[p] ?? 0)) break;
          const entries = await this.readStep(p, from, ends[p]!);
          if (entries.length === 0) break;
          const first = entries[0]!.offset;
          const last = entries[entries.length - 1]!.offset;
          const kept = this.opts.admission ? await this.opts.admission.admit(entries) : entries;
          const written = kept.length ? await writeStep(duck.connection, lakeDir, p, kept, first, last) : [];
          manifest.next[p] = last + 1;
          manifest.files.push(...written);
          writeManifest(lakeDir, manifest);
          read += entries.length;
          copied += kept.length;
          files += written.length;
          metrics?.lakeRowsWritten.inc(kept.length);
          metrics?.lakeFilesWritten.inc(written.length);
          onProgress?.({ partition: p, events: read, files });
        }
      }
    } finally {
      duck.close();
    }
    if (read) logger?.info({ events: copied, leftOut: read - copied, files }, 'lake: offloaded');
    return copied;
  }

  /** Up to chunkEvents entries of one partition from `from`, stopping at the end offset seen when the run began. */
  private async readStep(partition: number, from: number, end: number): Promise<LogEntry[]> {
    const out: LogEntry[] = [];
    let at = from;
    while (out.length < this.opts.chunkEvents && at < end) {
      if (out.length) await setImmediate(); // each read is synchronous on the embedded log: the API's requests go between
      const got = await this.log.read(partition, at, Math.min(2_000, this.opts.chunkEvents - out.length));
      if (got.length === 0) break;
      for (const e of got) if (e.offset < end) out.push(e);
      at = got[got.length - 1]!.offset + 1;
    }
    return out;
  }
}

/** One step's entries as one Parquet file per (event date, event type). */
async function writeStep(db: DuckDBConnection, lakeDir: string, partition: number, entries: readonly LogEntry[], first: number, last: number): Promise<LakeFile[]> {
  await db.run('CREATE OR REPLACE TEMP TABLE raw (p INTEGER, o BIGINT, r BIGINT, payload VARCHAR)');
  const appender = await db.createAppender('raw');
  for (let i = 0; i < entries.length; i++) {
    if (i > 0 && i % 2_000 === 0) await setImmediate(); // the API's requests go between
    const e = entries[i]!;
    appender.appendInteger(partition);
    appender.appendBigInt(BigInt(e.offset));
    appender.appendBigInt(BigInt(e.receivedAtMs));
    appender.appendVarchar(e.payload);
    appender.endRow();
  }
  appender.closeSync();
  await db.run(`CREATE OR REPLACE TEMP TABLE staged AS
    SELECT ${COLUMNS},
      strftime(coalesce(TRY_CAST(j->>'timestamp' AS TIMESTAMPTZ), to_timestamp(r / 1000)) AT TIME ZONE 'UTC', '%Y-%m-%d') AS event_date,
      regexp_replace(coalesce(j->>'type', 'unknown'), '[^a-z_]', '_', 'g') AS event_type
    FROM (SELECT p, o, r, payload::JSON AS j FROM raw)`);
  const groups = (await db.runAndReadAll('SELECT event_date, event_type, count(*)::INTEGER AS n FROM staged GROUP BY ALL ORDER BY ALL')).getRowObjectsJson() as { event_date: string; event_type: string; n: number }[];
  const out: LakeFile[] = [];
  for (const g of groups) {
    const path = eventFilePath(g.event_date, g.event_type, partition, first, last);
    const full = join(lakeDir, path);
    mkdirSync(dirname(full), { recursive: true });
    await db.run(
      `COPY (SELECT * EXCLUDE (event_date, event_type) FROM staged WHERE event_date = ${sqlString(g.event_date)} AND event_type = ${sqlString(g.event_type)} ORDER BY log_offset)
       TO ${sqlString(`${full}.tmp`)} (FORMAT parquet, COMPRESSION zstd)`,
    );
    fsyncFile(`${full}.tmp`);
    renameSync(`${full}.tmp`, full);
    fsyncDir(dirname(full));
    out.push({ path, partition, first, last, rows: g.n, date: g.event_date, type: g.event_type });
  }
  await db.run('DROP TABLE staged; DROP TABLE raw');
  return out;
}

