import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/**
 * The lake's table of contents: which Parquet files hold committed rows, and how far each log
 * partition has been copied. A file is part of the lake once the manifest names it; anything
 * else under `events/` was left by a run that crashed before its manifest was written, and is
 * removed by the next run. The manifest is replaced whole (write, fsync, rename).
 */
export interface LakeFile {
  /** Relative to the lake directory, with forward slashes. */
  path: string;
  partition: number;
  /** Log offsets of the step that wrote it (a compacted file: the range of what it merged). */
  first: number;
  last: number;
  rows: number;
  /** Hive partition values. */
  date: string;
  type: string;
}

export interface Manifest {
  version: 1;
  /** partition -> next log offset to copy. */
  next: Record<string, number>;
  files: LakeFile[];
}

export const EVENTS_DIR = 'events';
const MANIFEST = '_mosaic/manifest.json';

/** `events/event_date=2026-11-21/event_type=track/part-<partition>-<first>-<last>.parquet` */
export function eventFilePath(date: string, type: string, partition: number, first: number, last: number): string {
  return `${EVENTS_DIR}/event_date=${date}/event_type=${type}/part-${partition}-${first}-${last}.parquet`;
}

export function readManifest(lakeDir: string): Manifest {
  const file = join(lakeDir, MANIFEST);
  if (!existsSync(file)) return { version: 1, next: {}, files: [] };
  return JSON.parse(readFileSync(file, 'utf8')) as Manifest;
}

export function writeManifest(lakeDir: string, manifest: Manifest): void {
  const file = join(lakeDir, MANIFEST);
  mkdirSync(dirname(file), { recursive: true });
  writeDurably(`${file}.tmp`, JSON.stringify(manifest));
  renameSync(`${file}.tmp`, file);
  fsyncDir(dirname(file));
}

/** Writes and fsyncs a file. */
export function writeDurably(file: string, text: string): void {
  writeFileSync(file, text);
  fsyncFile(file);
}

export function fsyncFile(file: string): void {
  const fd = openSync(file, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A rename is durable once its directory is. */
export function fsyncDir(dir: string): void {
  fsyncFile(dir);
}

/** Removes files under events/ the manifest does not name (and temporary files); returns how many. */
export function removeUncommitted(lakeDir: string, manifest: Manifest): number {
  const root = join(lakeDir, EVENTS_DIR);
  if (!existsSync(root)) return 0;
  const named = new Set(manifest.files.map((f) => f.path));
  let removed = 0;
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath, entry.name);
    const rel = relative(lakeDir, full).split('\\').join('/');
    if (!named.has(rel)) {
      rmSync(full, { force: true });
      removed++;
    }
  }
  return removed;
}
