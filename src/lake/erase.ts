import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { openDuckDb, sqlString } from '../adapters/duckdb/duckdb.js';
import { inLake } from './lake-lock.js';
import { EVENTS_DIR, fsyncDir, fsyncFile, readManifest, writeManifest } from './manifest.js';

/** Which lake rows are one person's. */
export interface LakeMatch {
  /** Log positions of their events (partition -> offsets), found by reading the log. */
  positions: ReadonlyMap<number, readonly number[]>;
  /** Events older than the log's retention are found by their ids alone. */
  userIds: readonly string[];
  anonymousIds: readonly string[];
  /** Rows of the profile snapshot and derived tables. */
  profileIds: readonly string[];
}

export interface LakeErasure {
  filesRewritten: number;
  filesRemoved: number;
  rowsRemoved: number;
}

const inList = (values: readonly string[]) => values.map(sqlString).join(', ');

/**
 * Removes a person's rows from the lake, rewriting only the Parquet files that hold some: each
 * is written again without them (temporary name, fsync, rename) and the manifest updated; a
 * file left empty is removed. Derived tables (the profile snapshot, features) are filtered by
 * profile id.
 */
export function eraseFromLake(lakeDir: string, match: LakeMatch): Promise<LakeErasure> {
  return inLake(lakeDir, async () => {
    const out: LakeErasure = { filesRewritten: 0, filesRemoved: 0, rowsRemoved: 0 };
    if (!existsSync(lakeDir)) return out;
    const duck = await openDuckDb();
    try {
      const db = duck.connection;
      await db.run('CREATE TEMP TABLE gone (p INTEGER, o BIGINT)');
      const appender = await db.createAppender('gone');
      for (const [p, offsets] of match.positions) {
        for (const o of offsets) {
          appender.appendInteger(p);
          appender.appendBigInt(BigInt(o));
          appender.endRow();
        }
      }
      appender.closeSync();
      const conditions = ['EXISTS (SELECT 1 FROM gone WHERE gone.p = log_partition AND gone.o = log_offset)'];
      if (match.userIds.length) conditions.push(`user_id IN (${inList(match.userIds)})`);
      if (match.anonymousIds.length) conditions.push(`anonymous_id IN (${inList(match.anonymousIds)})`);
      const eventMatch = conditions.join(' OR ');

      const manifest = readManifest(lakeDir);
      let changed = false;
      const emptied: string[] = [];
      for (const file of [...manifest.files]) {
        const full = join(lakeDir, file.path);
        const removed = await rewriteWithout(db, full, eventMatch, 'ORDER BY log_offset');
        if (removed === undefined) continue;
        changed = true;
        out.rowsRemoved += removed.rows;
        if (removed.left === 0) {
          manifest.files.splice(manifest.files.indexOf(file), 1);
          emptied.push(full);
          out.filesRemoved++;
        } else {
          file.rows = removed.left;
          out.filesRewritten++;
        }
      }
      // The manifest stops naming an emptied file before the file goes: no reader meets a missing file.
      if (changed) writeManifest(lakeDir, manifest);
      for (const full of emptied) rmSync(full);

      if (match.profileIds.length) {
        const byProfile = `profile_id IN (${inList(match.profileIds)})`;
        for (const full of parquetFiles(lakeDir)) {
          if (relative(lakeDir, full).split(/[\\/]/)[0] === EVENTS_DIR) continue;
          const columns = (await db.runAndReadAll(`SELECT name FROM parquet_schema(${sqlString(full)})`)).getRowObjectsJson().map((r) => String(r.name));
          if (!columns.includes('profile_id')) continue;
          const removed = await rewriteWithout(db, full, byProfile, '');
          if (!removed) continue;
          out.rowsRemoved += removed.rows;
          out.filesRewritten++;
        }
      }
    } finally {
      duck.close();
    }
    return out;
  });
}

/** Writes the file again without the matching rows; undefined when none matched. An event file that would be empty is left to the caller. */
async function rewriteWithout(db: DuckDBConnection, full: string, condition: string, order: string): Promise<{ rows: number; left: number } | undefined> {
  if (!existsSync(full)) return undefined;
  const src = sqlString(full);
  const [counts] = (await db.runAndReadAll(`SELECT count(*) FILTER (WHERE ${condition})::INTEGER AS hit, count(*)::INTEGER AS total FROM read_parquet(${src})`)).getRowObjectsJson() as { hit: number; total: number }[];
  if (!counts || counts.hit === 0) return undefined;
  const left = counts.total - counts.hit;
  if (left === 0 && order) {
    // An event file left empty is dropped from the manifest, then removed by the caller.
  } else {
    await db.run(`COPY (SELECT * FROM read_parquet(${src}) WHERE NOT (${condition}) ${order}) TO ${sqlString(`${full}.tmp`)} (FORMAT parquet, COMPRESSION zstd)`);
    fsyncFile(`${full}.tmp`);
    renameSync(`${full}.tmp`, full);
  }
  fsyncDir(join(full, '..'));
  return { rows: counts.hit, left };
}

function parquetFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...parquetFiles(full));
    else if (entry.name.endsWith('.parquet')) out.push(full);
  }
  return out;
}

/** The person's event rows in the lake (for an export), at most `limit`, as JSON objects. */
export async function lakeRowsOf(lakeDir: string, match: LakeMatch, limit: number): Promise<Record<string, unknown>[]> {
  const files = readManifest(lakeDir).files.map((f) => join(lakeDir, f.path)).filter((f) => existsSync(f));
  if (!files.length) return [];
  const duck = await openDuckDb();
  try {
    const db = duck.connection;
    const positions = [...match.positions].flatMap(([p, offsets]) => offsets.map((o) => `(log_partition = ${p} AND log_offset = ${o})`));
    const conditions = [...positions];
    if (match.userIds.length) conditions.push(`user_id IN (${inList(match.userIds)})`);
    if (match.anonymousIds.length) conditions.push(`anonymous_id IN (${inList(match.anonymousIds)})`);
    if (!conditions.length) return [];
    const sql = `SELECT * FROM read_parquet([${files.map(sqlString).join(', ')}], hive_partitioning = true, union_by_name = true) WHERE ${conditions.join(' OR ')} ORDER BY "timestamp" LIMIT ${Math.floor(limit)}`;
    return (await db.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    duck.close();
  }
}
