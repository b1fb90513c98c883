import { createHash } from 'node:crypto';
import { existsSync, readdirSync, renameSync, rmdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { openDuckDb, sqlString } from '../adapters/duckdb/duckdb.js';
import { inLake } from './lake-lock.js';
import type { Metrics } from '../observe/metrics.js';
import { EVENTS_DIR, fsyncDir, fsyncFile, readManifest, removeUncommitted, writeManifest, type LakeFile } from './manifest.js';

export interface CompactOptions {
  /** Folders (event date) before this one are compacted; later ones may still receive files. Default: today (UTC). */
  before?: string;
  metrics?: Metrics;
}

export interface CompactResult {
  folders: number;
  filesMerged: number;
  rows: number;
}

/**
 * Merges the files of each (event date, event type) folder into one, ordered by log position,
 * without changing any query's result: the new file is written and renamed, the manifest
 * swaps the old files for it in one write, then the old files are deleted. A crash before the
 * manifest write leaves an unnamed file (removed by the next run); after it, unnamed old files
 * (removed likewise). The caller holds the lake's lock (no offload runs meanwhile).
 */
export function compactLake(lakeDir: string, opts: CompactOptions = {}): Promise<CompactResult> {
  return inLake(lakeDir, () => compact(lakeDir, opts));
}

async function compact(lakeDir: string, opts: CompactOptions): Promise<CompactResult> {
  const manifest = readManifest(lakeDir);
  removeUncommitted(lakeDir, manifest);
  const before = opts.before ?? new Date().toISOString().slice(0, 10);
  const folders = new Map<string, LakeFile[]>();
  for (const f of manifest.files) {
    if (f.date >= before) continue;
    const key = `${f.date}/${f.type}`;
    folders.set(key, [...(folders.get(key) ?? []), f]);
  }
  const result: CompactResult = { folders: 0, filesMerged: 0, rows: 0 };
  const duck = await openDuckDb();
  try {
    for (const files of folders.values()) {
      if (files.length < 2) continue;
      const paths = files.map((f) => f.path).sort();
      const name = `compacted-${createHash('sha256').update(paths.join('\n')).digest('hex').slice(0, 16)}.parquet`;
      const path = `${dirname(paths[0]!)}/${name}`;
      const full = join(lakeDir, path);
      await duck.connection.run(
        `COPY (SELECT * FROM read_parquet([${paths.map((p) => sqlString(join(lakeDir, p))).join(', ')}], union_by_name = true) ORDER BY log_partition, log_offset)
         TO ${sqlString(`${full}.tmp`)} (FORMAT parquet, COMPRESSION zstd)`,
      );
      fsyncFile(`${full}.tmp`);
      renameSync(`${full}.tmp`, full);
      fsyncDir(dirname(full));
      const rows = files.reduce((a, f) => a + f.rows, 0);
      const merged: LakeFile = { path, partition: -1, first: Math.min(...files.map((f) => f.first)), last: Math.max(...files.map((f) => f.last)), rows, date: files[0]!.date, type: files[0]!.type };
      const gone = new Set(paths);
      manifest.files = [...manifest.files.filter((f) => !gone.has(f.path)), merged];
      writeManifest(lakeDir, manifest);
      for (const p of paths) rmSync(join(lakeDir, p), { force: true });
      result.folders++;
      result.filesMerged += files.length;
      result.rows += rows;
      opts.metrics?.lakeFilesWritten.inc();
    }
  } finally {
    duck.close();
  }
  return result;
}

/**
 * Drops whole (event date, event type) folders older than the retention of their type (days;
 * `default` for types not named): out of the manifest first, then off the disk.
 */
export function applyRetention(lakeDir: string, retentionDays: Readonly<Record<string, number>>, now = Date.now()): Promise<{ folders: number; rows: number }> {
  return inLake(lakeDir, () => retain(lakeDir, retentionDays, now));
}

function retain(lakeDir: string, retentionDays: Readonly<Record<string, number>>, now: number): { folders: number; rows: number } {
  const manifest = readManifest(lakeDir);
  const expired = (f: LakeFile) => {
    const days = retentionDays[f.type] ?? retentionDays.default;
    return days !== undefined && f.date < new Date(now - days * 86_400_000).toISOString().slice(0, 10);
  };
  const drop = manifest.files.filter(expired);
  if (drop.length === 0) return { folders: 0, rows: 0 };
  manifest.files = manifest.files.filter((f) => !expired(f));
  writeManifest(lakeDir, manifest);
  const folders = new Set(drop.map((f) => `${f.date}/${f.type}`));
  for (const folder of folders) {
    const [date, type] = folder.split('/');
    rmSync(join(lakeDir, EVENTS_DIR, `event_date=${date}`, `event_type=${type}`), { recursive: true, force: true });
    const day = join(lakeDir, EVENTS_DIR, `event_date=${date}`);
    if (existsSync(day) && readdirSync(day).length === 0) rmdirSync(day);
  }
  return { folders: folders.size, rows: drop.reduce((a, f) => a + f.rows, 0) };
}
