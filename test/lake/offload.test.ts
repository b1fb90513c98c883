import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteEventLog } from '../../src/adapters/sqlite/event-log.js';
import { SqliteProfileStore } from '../../src/adapters/sqlite/profile-store.js';
import { Offloader } from '../../src/lake/offload.js';
import { readManifest } from '../../src/lake/manifest.js';
import { Warehouse } from '../../src/lake/warehouse.js';
import { MESSAGE_TYPES } from '../../src/core/envelope.js';
import type { AppendRecord } from '../../src/ports/event-log.js';
import { tempDir } from '../helpers.js';

/** MOSAIC_TEST_LAKE_EVENTS: fewer for a quick look while developing. */
const EVENTS = Number(process.env.MOSAIC_TEST_LAKE_EVENTS ?? 1_000_000);
const PARTITIONS = 4;

/** Event i: one of five days, one of the six types, spread over the partitions. */
function record(i: number): AppendRecord & { date: string; type: string } {
  const type = MESSAGE_TYPES[i % 6]!;
  const date = `2026-11-${String(1 + (i % 5)).padStart(2, '0')}`;
  const env = { type, messageId: `lk-${i}`, userId: `u${i % 997}`, event: type === 'track' ? 'Viewed' : undefined, timestamp: `${date}T${String(i % 24).padStart(2, '0')}:00:00.000Z`, receivedAt: `${date}T23:59:00.000Z`, sourceId: 'src', properties: { price: i % 100 } };
  return { partition: i % PARTITIONS, sourceId: 'src', messageId: env.messageId, receivedAtMs: Date.parse(env.receivedAt), payload: JSON.stringify(env), date, type };
}

async function appendRange(log: SqliteEventLog, from: number, to: number, expected: Map<string, number>): Promise<void> {
  for (let i = from; i < to; i += 5000) {
    const batch = Array.from({ length: Math.min(5000, to - i) }, (_, k) => record(i + k));
    await log.append(batch);
    for (const r of batch) expected.set(`${r.date} ${r.type}`, (expected.get(`${r.date} ${r.type}`) ?? 0) + 1);
  }
}

async function lakeCounts(lakeDir: string): Promise<Map<string, number>> {
  const w = await Warehouse.open(lakeDir);
  try {
    const r = await w.query('SELECT strftime(event_date, \'%Y-%m-%d\') AS d, event_type, count(*)::INTEGER AS n, count(DISTINCT message_id)::INTEGER AS u FROM events GROUP BY ALL');
    const out = new Map<string, number>();
    for (const [d, t, n, u] of r.rows as [string, string, number, number][]) {
      assert.equal(n, u, `${d} ${t}: a message twice`);
      out.set(`${d} ${t}`, n);
    }
    return out;
  } finally {
    w.close();
  }
}

test(`offload: ${EVENTS} events; counts per day and type in SQL equal the log's; a re-run and an incremental run copy only what is new`, { timeout: 600_000 }, async (t) => {
  const { dir, cleanup } = tempDir();
  const log = await SqliteEventLog.open({ dir, partitions: PARTITIONS, dedupWindowMs: 60_000, sync: 'normal', maxPendingEvents: 10_000, writer: 'inline' });
  try {
    const expected = new Map<string, number>();
    await appendRange(log, 0, EVENTS, expected);
    const lakeDir = join(dir, 'lake');
    const offloader = new Offloader(log, { lakeDir, chunkEvents: 100_000 });
    const started = performance.now();
    assert.equal(await offloader.run(), EVENTS);
    t.diagnostic(`offloaded ${EVENTS} events in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    assert.deepEqual(await lakeCounts(lakeDir), expected);
    assert.equal(await offloader.lag(), 0);
    assert.equal(await offloader.run(), 0, 'nothing new');
    const files = readManifest(lakeDir).files.length;
    await appendRange(log, EVENTS, EVENTS + 1000, expected);
    assert.equal(await offloader.lag(), 1000);
    assert.equal(await offloader.run(), 1000);
    assert.ok(readManifest(lakeDir).files.length > files);
    assert.deepEqual(await lakeCounts(lakeDir), expected);
  } finally {
    await log.close();
    cleanup();
  }
});

test('offload: killed (SIGKILL) in the middle, then run again: the same rows, none twice', { timeout: 300_000 }, async () => {
  const { dir, cleanup } = tempDir();
  try {
    const expected = new Map<string, number>();
    const log = await SqliteEventLog.open({ dir, partitions: PARTITIONS, dedupWindowMs: 60_000, sync: 'normal', maxPendingEvents: 10_000, writer: 'inline' });
    await appendRange(log, 0, 60_000, expected);
    // As if the processor had applied it all: the lake copies only what it has (consent is judged on profiles).
    const store = new SqliteProfileStore({ dir });
    await store.commit({ offsets: new Map((await log.endOffsets()).map((end, p) => [p, end])) });
    await store.close();
    await log.close();
    const config = join(dir, 'mosaic.yaml');
    writeFileSync(config, `log: { partitions: ${PARTITIONS} }\nlake: { chunkEvents: 1000 }\n`);
    const lakeDir = join(dir, 'lake');
    const child = spawn(process.execPath, [join(import.meta.dirname, '../../src/cli/main.js'), '--config', config, 'offload', '--once'], { env: { ...process.env, MOSAIC_DATA_DIR: dir, MOSAIC_LOG_LEVEL: 'warn' }, stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    // Until some steps are committed, then kill it wherever it is.
    while (!existsSync(join(lakeDir, '_mosaic/manifest.json')) || readManifest(lakeDir).files.length < 20) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGKILL');
    await exited;
    const partial = readManifest(lakeDir);
    assert.ok(Object.values(partial.next).reduce((a, n) => a + n, 0) < 60_000, 'killed before the end');
    const again = await SqliteEventLog.open({ dir, partitions: PARTITIONS, dedupWindowMs: 60_000, sync: 'normal', maxPendingEvents: 10_000, writer: 'inline' });
    try {
      await new Offloader(again, { lakeDir, chunkEvents: 7000 }).run();
      assert.deepEqual(await lakeCounts(lakeDir), expected);
      // Files of a step whose manifest was never written are gone, not read twice.
      assert.equal(readManifest(lakeDir).files.length, new Set(readManifest(lakeDir).files.map((f) => f.path)).size);
    } finally {
      await again.close();
    }
  } finally {
    cleanup();
  }
});

test('warehouse: one read-only statement; no writes, no files outside the lake, no settings changes', async () => {
  const { dir, cleanup } = tempDir();
  const w = await Warehouse.open(dir);
  try {
    assert.deepEqual((await w.query('SELECT count(*)::INTEGER AS n FROM events')).rows, [[0]], 'an empty lake has an empty events view');
    const refused = async (sql: string, ...codes: string[]) => assert.rejects(w.query(sql), (e: unknown) => codes.includes((e as { code?: string }).code ?? ''), sql);
    await refused('CREATE TABLE x (a INTEGER)', 'MOSAIC_SQL_READ_ONLY');
    const outside = join(dir, '..', `mosaic-sql-${process.pid}.csv`);
    await refused(`COPY (SELECT 1) TO '${outside}'`, 'MOSAIC_SQL_READ_ONLY', 'MOSAIC_SQL_INVALID');
    assert.equal(existsSync(outside), false);
    await refused('SELECT 1; SELECT 2', 'MOSAIC_SQL_INVALID');
    await refused('SELEC 1', 'MOSAIC_SQL_INVALID');
    await refused("SELECT * FROM read_csv('/etc/passwd')", 'MOSAIC_SQL_INVALID');
    await refused("SET enable_external_access = true", 'MOSAIC_SQL_READ_ONLY');
    await refused("SELECT * FROM read_text('/etc/hostname')", 'MOSAIC_SQL_INVALID');
    assert.deepEqual((await w.query(`SELECT '{"a":[1]}'::JSON AS j, 2::BIGINT AS b`)).rows, [[{ a: [1] }, '2']]);
  } finally {
    w.close();
    cleanup();
  }
});
