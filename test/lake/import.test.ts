import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { runImport } from '../../src/lake/imports/run-import.js';
import type { ImportDef } from '../../src/lake/imports/sources.js';
import { API_TOKEN, WRITE_KEY, startMosaic, tempDir } from '../helpers.js';
import { postgresDatabase } from '../services.js';

type Mosaic = Awaited<ReturnType<typeof startMosaic>>;

async function listening(): Promise<{ m: Mosaic; url: string }> {
  const m = await startMosaic();
  await m.app.listen({ port: 0, host: '127.0.0.1' });
  return { m, url: `http://127.0.0.1:${(m.app.server.address() as { port: number }).port}` };
}

const profile = async (m: Mosaic, ref: string) => (await m.app.inject({ method: 'GET', url: `/v1/profiles/${ref}`, headers: { authorization: `Bearer ${API_TOKEN}` } })).json();

const csv = (rows: { id: string; plan: string; at: string }[]) => ['id,email,plan,updated_at', ...rows.map((r) => `${r.id},${r.id}@example.com,${r.plan},${r.at}`)].join('\n') + '\n';

test('import csv: rows become identify events through the tracking API; a re-run sends nothing again; changed rows only are sent; bad rows are reported', async () => {
  const { m, url } = await listening();
  const { dir, cleanup } = tempDir();
  try {
    const file = join(dir, 'users.csv');
    const rows = Array.from({ length: 100 }, (_, i) => ({ id: `c${i}`, plan: 'free', at: '2026-11-01T00:00:00Z' }));
    writeFileSync(file, csv(rows));
    const def: ImportDef = { name: 'crm', source: { kind: 'csv', file }, mapping: { type: 'identify', userId: 'id', timestamp: 'updated_at', traits: { email: 'email', plan: 'plan' }, key: ['id'], version: 'updated_at' } };
    const opts = { url, writeKey: WRITE_KEY, stateDir: join(dir, 'state') };
    const first = await runImport(def, opts);
    assert.deepEqual({ ...first, watermark: undefined }, { read: 100, accepted: 100, unchanged: 0, rejected: 0, reasons: {}, watermark: undefined });
    const again = await runImport(def, opts);
    assert.equal(again.accepted, 0);
    assert.equal(again.unchanged, 100);
    // Three rows change, one row has no id.
    for (const i of [3, 50, 99]) rows[i] = { id: `c${i}`, plan: 'pro', at: '2026-11-02T00:00:00Z' };
    writeFileSync(file, csv(rows) + ',nobody@example.com,free,2026-11-02T00:00:00Z\n');
    const third = await runImport(def, opts);
    assert.equal(third.accepted, 3);
    assert.equal(third.unchanged, 100 - 3);
    assert.equal(third.rejected, 1);
    assert.deepEqual(Object.keys(third.reasons), ['no id (the row has no id)']);
    await m.processor.drain();
    const p = await profile(m, 'user_id:c50');
    assert.equal(p.traits.plan, 'pro');
    assert.equal(p.eventCount, 2, 'one event per version of the row, none twice');
    assert.equal((await profile(m, 'user_id:c7')).eventCount, 1);
  } finally {
    await m.cleanup();
    cleanup();
  }
});

test('import jsonl as track events; a line that is not JSON is rejected with its line number; an incremental run skips rows at or before the watermark', async () => {
  const { m, url } = await listening();
  const { dir, cleanup } = tempDir();
  try {
    const file = join(dir, 'orders.jsonl');
    const line = (n: number) => JSON.stringify({ order: n, customer: `j${n % 5}`, total: n * 10, at: `2026-11-0${1 + (n % 3)}T10:00:00Z`, seq: n });
    writeFileSync(file, [line(1), line(2), '{oops', line(3)].join('\n') + '\n');
    const def: ImportDef = { name: 'orders', source: { kind: 'jsonl', file }, mapping: { type: 'track', userId: 'customer', event: 'Order Completed', timestamp: 'at', properties: { order_id: 'order', total: 'total' }, key: ['order'] }, incremental: { field: 'seq' } };
    const opts = { url, writeKey: WRITE_KEY, stateDir: join(dir, 'state') };
    const first = await runImport(def, opts);
    assert.equal(first.accepted, 3);
    assert.deepEqual(Object.values(first.reasons), [1]);
    assert.match(Object.keys(first.reasons)[0]!, /^line 3 is not JSON \(/);
    assert.deepEqual(first.watermark, { value: 3 });
    writeFileSync(file, [line(1), line(2), line(3), line(4), line(5)].join('\n') + '\n');
    const second = await runImport(def, opts);
    assert.deepEqual({ read: second.read, accepted: second.accepted }, { read: 2, accepted: 2 }, 'only the rows after seq 3 are read');
    await m.processor.drain();
    assert.equal((await profile(m, 'user_id:j4')).eventCounts['Order Completed'], 1);
  } finally {
    await m.cleanup();
    cleanup();
  }
});

test('import http: pages followed by cursor; the next run resumes from the last cursor', async () => {
  const { m, url } = await listening();
  const { dir, cleanup } = tempDir();
  const pages: Record<string, { data: object[]; next: string | null }> = {
    '': { data: [{ uid: 'h1', name: 'Ann' }, { uid: 'h2', name: 'Bo' }], next: 'p2' },
    p2: { data: [{ uid: 'h3', name: 'Cy' }], next: null },
  };
  const asked: string[] = [];
  const api = createServer((req, res) => {
    const cursor = new URL(req.url!, 'http://x').searchParams.get('after') ?? '';
    asked.push(cursor);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(pages[cursor] ?? { data: [], next: null }));
  });
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
  try {
    const def: ImportDef = { name: 'api', source: { kind: 'http', url: `http://127.0.0.1:${(api.address() as { port: number }).port}/users`, items: 'data', nextCursor: 'next', cursorParam: 'after' }, mapping: { type: 'identify', userId: 'uid', traits: ['name'] } };
    const opts = { url, writeKey: WRITE_KEY, stateDir: join(dir, 'state') };
    assert.equal((await runImport(def, opts)).accepted, 3);
    assert.deepEqual(asked, ['', 'p2']);
    pages.p2!.next = 'p3';
    pages.p3 = { data: [{ uid: 'h4', name: 'Di' }], next: null };
    const second = await runImport(def, opts);
    assert.equal(second.accepted, 1, 'p2 again (unchanged), then p3');
    assert.deepEqual(asked, ['', 'p2', 'p2', 'p3']);
    await m.processor.drain();
    assert.equal((await profile(m, 'user_id:h4')).traits.name, 'Di');
  } finally {
    api.close();
    await m.cleanup();
    cleanup();
  }
});

test('mosaic import csv (the command): a progress bar, a summary, exit 1 when rows were rejected', async () => {
  const { m, url } = await listening();
  const { dir, cleanup } = tempDir();
  try {
    const file = join(dir, 'u.csv');
    writeFileSync(file, 'id,plan\nk1,free\n,pro\n');
    writeFileSync(join(dir, 'map.yaml'), 'type: identify\nuserId: id\ntraits: [plan]\n');
    // Asynchronously: the Mosaic it sends to runs in this process.
    const cli = (key: string, ...extra: string[]) =>
      new Promise<{ status: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [join(import.meta.dirname, '../../src/cli/main.js'), 'import', 'csv', file, '--mapping', join(dir, 'map.yaml'), '--url', url, '--write-key', key, ...extra], { env: { ...process.env, MOSAIC_DATA_DIR: dir } });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('close', (status) => resolve({ status, stderr }));
      });
    const r = await cli(WRITE_KEY);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /import csv-u_csv: 2 rows read, 1 accepted, 0 unchanged \(imported before\), 1 rejected/);
    assert.match(r.stderr, /1 × no id \(the row has no id\)/);
    // Another import of the same file (its own state): it has rows to send, with a wrong key.
    const bad = await cli('wk_wrong_key', '--name', 'other');
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /answered 401 MOSAIC_AUTH_WRITE_KEY_INVALID/);
  } finally {
    await m.cleanup();
    cleanup();
  }
});

const db = await postgresDatabase();
test('import postgres, incremental: change 10 rows at the source, the next run reads only those', { skip: 'skip' in db ? db.skip : false }, async () => {
  if ('skip' in db) return;
  after(() => db.drop());
  const { m, url } = await listening();
  const { dir, cleanup } = tempDir();
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    await c.query("CREATE TABLE customers (id integer PRIMARY KEY, email text, plan text, updated_at timestamptz NOT NULL DEFAULT '2026-11-01')");
    await c.query("INSERT INTO customers (id, email, plan) SELECT i, 'p' || i || '@example.com', 'free' FROM generate_series(1, 1000) i");
    const def: ImportDef = { name: 'customers', source: { kind: 'postgres', url: db.url, table: 'customers' }, mapping: { type: 'identify', userId: 'id', timestamp: 'updated_at', traits: ['email', 'plan'], key: ['id'] }, incremental: { field: 'updated_at' } };
    const opts = { url, writeKey: WRITE_KEY, stateDir: join(dir, 'state'), batchSize: 300 };
    const first = await runImport(def, opts);
    assert.deepEqual({ read: first.read, accepted: first.accepted }, { read: 1000, accepted: 1000 });
    await c.query("UPDATE customers SET plan = 'pro', updated_at = '2026-11-05' WHERE id % 100 = 7");
    const second = await runImport(def, opts);
    assert.deepEqual({ read: second.read, accepted: second.accepted, unchanged: second.unchanged }, { read: 10, accepted: 10, unchanged: 0 });
    assert.deepEqual(await runImport(def, opts).then((s) => s.read), 0, 'nothing changed since');
    await m.processor.drain();
    const p = await profile(m, 'user_id:507');
    assert.deepEqual([p.traits.plan, p.eventCount], ['pro', 2]);
  } finally {
    await c.end();
    await m.cleanup();
    cleanup();
  }
});
