import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate } from 'node:timers/promises';
import type { DuckDBConnection } from '@duckdb/node-api';
import { BACKGROUND_DUCKDB, openDuckDb, sqlString } from '../adapters/duckdb/duckdb.js';
import { assembleProfile, toPublicProfile, type ProfileModel } from '../core/profile.js';
import { summarizeSessions } from '../core/sessions.js';
import type { ProfileStore } from '../ports/profile-store.js';
import { inLake } from './lake-lock.js';
import { fsyncDir, fsyncFile } from './manifest.js';

export const PROFILES_DIR = 'profiles';

/**
 * The tables a snapshot writes, as SELECTs over `raw` (one public profile as JSON per row) or
 * `members`. The warehouse reads each file, or — before the first snapshot — the same SELECT
 * over empty inputs, so the views exist with their columns from the start.
 */
export const SNAPSHOT_TABLES = {
  profiles: `SELECT doc->>'id' AS profile_id,
      TRY_CAST(doc->>'firstSeen' AS TIMESTAMPTZ) AS first_seen,
      TRY_CAST(doc->>'lastSeen' AS TIMESTAMPTZ) AS last_seen,
      (doc->>'eventCount')::BIGINT AS event_count,
      doc->'traits' AS traits,
      doc->'computedTraits' AS computed_traits,
      doc->'eventCounts' AS event_counts,
      doc->'typeCounts' AS type_counts,
      doc->'context' AS context,
      (doc->'sessions'->>'count')::INTEGER AS session_count
    FROM raw`,
  identities: `SELECT doc->>'id' AS profile_id, i->>'type' AS type, i->>'id' AS id
    FROM (SELECT doc, unnest(json_extract(doc, '$.identities[*]')) AS i FROM raw)`,
  sessions: `SELECT doc->>'id' AS profile_id,
      TRY_CAST(s->>'start' AS TIMESTAMPTZ) AS session_start,
      TRY_CAST(s->>'end' AS TIMESTAMPTZ) AS session_end,
      (s->>'durationSeconds')::DOUBLE AS duration_seconds,
      (s->>'events')::INTEGER AS events,
      (s->>'pageViews')::INTEGER AS page_views,
      s->>'landingPage' AS landing_page,
      s->>'referrer' AS referrer,
      s->>'referrerType' AS referrer_type,
      s->'campaign' AS campaign
    FROM (SELECT doc, unnest(json_extract(doc, '$.sessions.recent[*]')) AS s FROM raw)`,
  audience_memberships: `SELECT audience, profile_id, to_timestamp(since / 1000) AS since FROM members`,
} as const;

export type SnapshotTable = keyof typeof SNAPSHOT_TABLES;

/** Empty inputs with the snapshot's input columns. */
export const SNAPSHOT_INPUTS = `CREATE TEMP TABLE raw (doc JSON); CREATE TEMP TABLE members (audience VARCHAR, profile_id VARCHAR, since BIGINT)`;

export function snapshotFile(lakeDir: string, table: SnapshotTable): string {
  return join(lakeDir, PROFILES_DIR, `${table}.parquet`);
}

/**
 * Writes every profile (as the profile API shows it), its identities, its kept sessions and the
 * audience memberships to Parquet files under `profiles/`, each replaced whole (write, fsync,
 * rename): the warehouse's `profiles`, `identities`, `sessions` and `audience_memberships`.
 * Profiles are read in pages of 250, so memory holds one page plus DuckDB's table (which spills to
 * disk), and the API's requests go between pages.
 */
export function snapshotProfiles(store: ProfileStore, model: ProfileModel, lakeDir: string, opts: { pageSize?: number; now?: number } = {}): Promise<{ profiles: number }> {
  return inLake(lakeDir, () => snapshot(store, model, lakeDir, opts));
}

async function snapshot(store: ProfileStore, model: ProfileModel, lakeDir: string, opts: { pageSize?: number; now?: number }): Promise<{ profiles: number }> {
  const tmp = join(lakeDir, '_mosaic', 'tmp');
  mkdirSync(tmp, { recursive: true });
  mkdirSync(join(lakeDir, PROFILES_DIR), { recursive: true });
  const duck = await openDuckDb({ ...BACKGROUND_DUCKDB, tempDirectory: tmp });
  const db = duck.connection;
  try {
    await db.run(SNAPSHOT_INPUTS);
    const now = opts.now ?? Date.now();
    let profiles = 0;
    const raw = await db.createAppender('raw');
    for (let after: string | undefined; ; ) {
      if (after !== undefined) await setImmediate(); // the embedded store reads synchronously: the API's requests go between pages
      const page = await store.scanClusters(after, opts.pageSize ?? 250);
      if (page.length === 0) break;
      const parts = await store.getParts(page.flatMap((c) => c.members));
      for (const c of page) {
        const doc = assembleProfile(c, c.members.map((m) => parts.get(m)).filter((p) => p !== undefined).sort((a, b) => (a.id < b.id ? -1 : 1)), model);
        const pub = toPublicProfile(doc, model, now);
        // The API shows the newest sessions; a snapshot keeps every session the profile holds.
        raw.appendVarchar(JSON.stringify({ ...pub, sessions: summarizeSessions(doc.sessions, Number.MAX_SAFE_INTEGER) }));
        raw.endRow();
        profiles++;
      }
      after = page[page.length - 1]!.id;
    }
    raw.closeSync();
    const members = await db.createAppender('members');
    for (const a of model.audiences ?? []) {
      let cursor: string | undefined;
      do {
        const page = await store.audienceMembers(a.def.name, cursor, 5000);
        for (const m of page.members) {
          members.appendVarchar(a.def.name);
          members.appendVarchar(m.profileId);
          members.appendBigInt(BigInt(m.since));
          members.endRow();
        }
        cursor = page.next;
      } while (cursor !== undefined);
    }
    members.closeSync();
    for (const table of Object.keys(SNAPSHOT_TABLES) as SnapshotTable[]) await writeTable(db, table, snapshotFile(lakeDir, table));
    return { profiles };
  } finally {
    duck.close();
  }
}

async function writeTable(db: DuckDBConnection, table: SnapshotTable, file: string): Promise<void> {
  await db.run(`COPY (${SNAPSHOT_TABLES[table]}) TO ${sqlString(`${file}.tmp`)} (FORMAT parquet, COMPRESSION zstd)`);
  fsyncFile(`${file}.tmp`);
  renameSync(`${file}.tmp`, file);
  fsyncDir(join(file, '..'));
}

export function hasSnapshot(lakeDir: string, table: SnapshotTable): boolean {
  return existsSync(snapshotFile(lakeDir, table));
}
