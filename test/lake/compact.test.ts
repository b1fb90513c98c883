import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { SqliteEventLog } from '../../src/adapters/sqlite/event-log.js';
import { applyRetention, compactLake } from '../../src/lake/compact.js';
import { readManifest } from '../../src/lake/manifest.js';
import { Offloader } from '../../src/lake/offload.js';
import { Warehouse } from '../../src/lake/warehouse.js';
import { tempDir } from '../helpers.js';

const TYPES = ['track', 'identify', 'page'] as const;

async function lakeWith(events: number): Promise<{ dir: string; lakeDir: string; log: SqliteEventLog; cleanup: () => void }> {
  const { dir, cleanup } = tempDir();
  const log = await SqliteEventLog.open({ dir, partitions: 4, dedupWindowMs: 60_000, sync: 'normal', maxPendingEvents: 10_000, writer: 'inline' });
  for (let i = 0; i < events; i += 2000) {
    await log.append(Array.from({ length: 2000 }, (_, k) => {
      const n = i + k;
      const date = `2026-11-0${1 + (n % 5)}`;
      const env = { type: TYPES[n % 3], messageId: `c-${n}`, userId: `u${n % 101}`, timestamp: `${date}T12:00:00.000Z`, receivedAt: `${date}T12:00:01.000Z`, sourceId: 's', properties: { n } };
      return { partition: n % 4, sourceId: 's', messageId: env.messageId, receivedAtMs: 0, payload: JSON.stringify(env) };
    }));
  }
  const lakeDir = join(dir, 'lake');
  // Small steps: many small files, as minute-by-minute offloads make.
  await new Offloader(log, { lakeDir, chunkEvents: 1500 }).run();
  return { dir, lakeDir, log, cleanup };
}

/** Every row's content, summarized so that any changed, lost or repeated row changes it. */
async function fingerprint(lakeDir: string): Promise<unknown[][]> {
  const w = await Warehouse.open(lakeDir);
  try {
    return (await w.query(`SELECT strftime(event_date, '%Y-%m-%d'), event_type, count(*)::INTEGER, count(DISTINCT message_id)::INTEGER,
        sum(hash(message_id || properties::VARCHAR || user_id || "timestamp"::VARCHAR || log_offset::VARCHAR))::VARCHAR
      FROM events GROUP BY ALL ORDER BY ALL`)).rows;
  } finally {
    w.close();
  }
}

const filesOnDisk = (lakeDir: string) =>
  readdirSync(join(lakeDir, 'events'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => relative(lakeDir, join(e.parentPath, e.name))).sort();

test('compaction merges each past folder into one file without changing any query result; offloads go on after it', async () => {
  const { lakeDir, log, cleanup } = await lakeWith(30_000);
  try {
    const before = await fingerprint(lakeDir);
    const manifest = readManifest(lakeDir);
    const early = manifest.files.filter((f) => f.date < '2026-11-04');
    assert.ok(early.length > 20, `${early.length} small files to merge`);
    const r = await compactLake(lakeDir, { before: '2026-11-04' });
    assert.equal(r.folders, 9, '3 days × 3 types');
    assert.equal(r.filesMerged, early.length);
    assert.deepEqual(await fingerprint(lakeDir), before);
    const after = readManifest(lakeDir);
    assert.equal(after.files.filter((f) => f.date < '2026-11-04').length, 9);
    assert.deepEqual(after.files.filter((f) => f.date >= '2026-11-04').map((f) => f.path).sort(), manifest.files.filter((f) => f.date >= '2026-11-04').map((f) => f.path).sort(), 'later folders untouched');
    assert.deepEqual(filesOnDisk(lakeDir), after.files.map((f) => f.path).sort(), 'the merged files are gone from the disk');
    assert.deepEqual(await compactLake(lakeDir, { before: '2026-11-04' }), { folders: 0, filesMerged: 0, rows: 0 }, 'nothing more to do');
    // New events after compaction are offloaded from where the offload stopped.
    await log.append([{ partition: 0, sourceId: 's', messageId: 'late', receivedAtMs: 0, payload: JSON.stringify({ type: 'track', messageId: 'late', userId: 'u1', timestamp: '2026-11-01T13:00:00.000Z', receivedAt: '2026-11-01T13:00:00.000Z', sourceId: 's' }) }]);
    assert.equal(await new Offloader(log, { lakeDir, chunkEvents: 1500 }).run(), 1);
    const w = await Warehouse.open(lakeDir);
    try {
      assert.deepEqual((await w.query("SELECT count(*)::INTEGER FROM events WHERE event_date = DATE '2026-11-01' AND event_type = 'track'")).rows, [[2001]]);
    } finally {
      w.close();
    }
  } finally {
    await log.close();
    cleanup();
  }
});

test('retention drops whole folders older than their type keeps, from the manifest and the disk', async () => {
  const { lakeDir, log, cleanup } = await lakeWith(6000);
  try {
    const now = Date.parse('2026-11-06T08:00:00Z');
    // track: 2 days (keeps 11-04 and later); other types: 3 days (keeps 11-03 and later).
    const r = await applyRetention(lakeDir, { track: 2, default: 3 }, now);
    assert.equal(r.folders, 3 + 2 + 2);
    const left = (await fingerprint(lakeDir)).map(([d, t]) => `${String(d)} ${String(t)}`);
    assert.deepEqual(left, ['2026-11-03 identify', '2026-11-03 page', '2026-11-04 identify', '2026-11-04 page', '2026-11-04 track', '2026-11-05 identify', '2026-11-05 page', '2026-11-05 track']);
    assert.deepEqual(filesOnDisk(lakeDir), readManifest(lakeDir).files.map((f) => f.path).sort());
    assert.equal(readdirSync(join(lakeDir, 'events')).includes('event_date=2026-11-01'), false, 'an emptied day folder is removed');
    assert.deepEqual(await applyRetention(lakeDir, { track: 2, default: 3 }, now), { folders: 0, rows: 0 });
  } finally {
    await log.close();
    cleanup();
  }
});
