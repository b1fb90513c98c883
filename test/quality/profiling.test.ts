import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Warehouse } from '../../src/lake/warehouse.js';
import { driftTable, parseWhen, profileTable, psi } from '../../src/quality/profiling.js';
import { openExpectationRuns } from '../../src/adapters/from-config.js';
import { API_TOKEN, startMosaic } from '../helpers.js';
import { plantLake } from './lake-fixture.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 1);

/** Days 0–6: price 40–60, categories A and B; days 7–13: price 70–90 and category C joins. Currency is 50/50 throughout; coupon on every other event. */
function events(): string[] {
  const out: string[] = [];
  for (let i = 0; i < 1400; i++) {
    const day = Math.floor(i / 100);
    const late = day >= 7;
    const props: Record<string, unknown> = { price: (late ? 70 : 40) + (i % 21), currency: i % 2 ? 'EUR' : 'USD', category: late && i % 3 === 0 ? 'C' : i % 2 ? 'A' : 'B' };
    if (i % 2) props.coupon = `C${i % 7}`;
    out.push(JSON.stringify({ type: 'track', event: 'Order Completed', messageId: `p${i}`, userId: `u${i % 50}`, timestamp: new Date(T0 + day * DAY + (i % 100) * 60_000).toISOString(), receivedAt: new Date(T0 + day * DAY).toISOString(), sourceId: 'web', properties: props }));
  }
  return out;
}

test('profile-data: null rates, distinct counts, numeric summaries, top values and histograms, JSON keys included', { timeout: 60_000 }, async () => {
  const lake = await plantLake(events());
  const w = await Warehouse.open(lake.lakeDir);
  try {
    const p = await profileTable((sql) => w.query(sql), 'events', { period: { from: T0, to: T0 + 7 * DAY } });
    assert.equal(p.rows, 700);
    const col = (name: string) => p.columns.find((c) => c.column === name)!;
    assert.deepEqual([col('properties.coupon').nullRate, col('properties.coupon').distinct], [0.5, 7]);
    const price = col('properties.price');
    assert.deepEqual([price.numeric!.min, price.numeric!.max, price.numeric!.quantiles.p50, price.nullRate], [40, 60, 50, 0]);
    assert.equal(price.histogram!.length, 10);
    assert.equal(price.histogram!.reduce((a, h) => a + h.count, 0), 700);
    assert.deepEqual(col('properties.currency').top, [{ value: 'EUR', count: 350 }, { value: 'USD', count: 350 }]);
    assert.equal(col('properties.currency').numeric, undefined);
    assert.deepEqual(col('user_id').length, { min: 2, max: 3 });
    assert.equal(col('anonymous_id').nullRate, 1);
    assert.equal(col('event').distinct, 1);
  } finally {
    w.close();
    lake.cleanup();
  }
});

test('drift: PSI flags the shifted price and the new category, not the stable currency', { timeout: 60_000 }, async () => {
  const lake = await plantLake(events());
  const w = await Warehouse.open(lake.lakeDir);
  try {
    const drift = await driftTable((sql) => w.query(sql), 'events', { from: T0, to: T0 + 7 * DAY }, { from: T0 + 7 * DAY, to: T0 + 14 * DAY }, { columns: ['properties.price', 'properties.currency', 'properties.category', 'properties.coupon'] });
    const by = Object.fromEntries(drift.map((d) => [d.column, d]));
    assert.equal(by['properties.price']!.kind, 'numeric');
    assert.equal(by['properties.price']!.level, 'significant');
    assert.equal(by['properties.category']!.kind, 'categorical');
    assert.equal(by['properties.category']!.level, 'significant');
    assert.ok(by['properties.category']!.bins.some((b) => b.bin === '(other)' && b.baseline === 0 && b.current > 0), 'C is new: it falls in (other)');
    assert.equal(by['properties.currency']!.level, 'stable');
    assert.equal(by['properties.currency']!.psi, 0);
    assert.equal(by['properties.coupon']!.level, 'stable');
    assert.equal(drift[0]!.psi >= drift[drift.length - 1]!.psi, true, 'largest first');
  } finally {
    w.close();
    lake.cleanup();
  }
  // The CLI prints the same.
  const lake2 = await plantLake(events());
  try {
    const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [join(import.meta.dirname, '../../src/cli/main.js'), 'profile-data', 'events', '--since', '2026-11-08', '--until', '2026-11-15', '--baseline-since', '2026-11-01', '--baseline-until', '2026-11-08', '--columns', 'properties.price,properties.currency'], { cwd: lake2.dir, env: { ...process.env, MOSAIC_DATA_DIR: lake2.dir } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /drift of events: 700 baseline rows, 700 current rows/);
    assert.match(r.stdout, /properties\.price\s+numeric\s+PSI\s+\d+\.\d+\s+significant/);
    assert.match(r.stdout, /properties\.currency\s+categorical\s+PSI\s+0\.0000\s+stable/);
  } finally {
    lake2.cleanup();
  }
});

test('psi: zero for the same shares, growing with the shift; times parse', () => {
  assert.equal(psi([10, 20, 30], [20, 40, 60]), 0);
  const small = psi([25, 25, 25, 25], [27, 24, 25, 24]);
  const big = psi([25, 25, 25, 25], [5, 10, 25, 60]);
  assert.ok(small < 0.01 && big > 0.25, `${small} ${big}`);
  assert.ok(Number.isFinite(psi([10, 0], [0, 10])), 'empty bins are smoothed');
  assert.equal(parseWhen('2d', 10 * DAY), 8 * DAY);
  assert.equal(parseWhen('2026-11-01'), T0);
  assert.throws(() => parseWhen('last week'), /neither a duration/);
});

test('quality reports over HTTP: expectation history newest first, a profile and a drift of a lake table, bad input refused, the access audited', { timeout: 60_000 }, async () => {
  const lake = await plantLake(events());
  const m = await startMosaic({ lake: { dir: lake.lakeDir, offloadIntervalSeconds: 0 } });
  const runs = await openExpectationRuns(m.config);
  try {
    const run = (at: number, status: 'pass' | 'fail') => ({ suite: 'orders', table: 'events', startedAt: at, finishedAt: at + 5, status, results: [{ name: 'not_null(user_id)', kind: 'not_null', status, message: status === 'pass' ? 'no null' : '3 nulls', observed: {} }] });
    await runs.record(run(T0, 'pass'));
    await runs.record(run(T0 + DAY, 'fail'));
    const get = (url: string) => m.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${API_TOKEN}` } });
    const history = await get('/v1/quality/expectations?suite=orders&limit=10');
    assert.equal(history.statusCode, 200, history.body);
    assert.deepEqual(history.json().runs.map((r: { status: string; startedAt: number }) => [r.status, r.startedAt]), [['fail', T0 + DAY], ['pass', T0]]);

    const profile = await get('/v1/quality/profile/events?since=2026-11-01&until=2026-11-08&columns=properties.price,properties.currency');
    assert.equal(profile.statusCode, 200, profile.body);
    const p = profile.json();
    assert.equal(p.kind, 'profile');
    assert.equal(p.rows, 700);
    const price = p.columns.find((c: { column: string }) => c.column === 'properties.price');
    assert.deepEqual(p.columns.map((c: { column: string }) => c.column).sort(), ['properties.currency', 'properties.price']);
    assert.deepEqual([price.numeric.min, price.numeric.max], [40, 60]);

    const drift = await get('/v1/quality/profile/events?since=2026-11-08&until=2026-11-15&baselineSince=2026-11-01&baselineUntil=2026-11-08&columns=properties.price,properties.currency');
    assert.equal(drift.statusCode, 200, drift.body);
    assert.equal(drift.json().kind, 'drift');
    assert.deepEqual(drift.json().columns.map((c: { column: string; level: string }) => [c.column, c.level]), [['properties.price', 'significant'], ['properties.currency', 'stable']]);

    const notATable = await get('/v1/quality/profile/secrets');
    assert.equal(notATable.statusCode, 400);
    const badTime = await get('/v1/quality/profile/events?since=someday');
    assert.equal(badTime.statusCode, 400);
    assert.match(badTime.json().error.message, /"someday" is neither a duration/);
    const noTimeColumn = await get('/v1/quality/profile/profiles?since=7d');
    assert.equal(noTimeColumn.statusCode, 400);
    assert.match(noTimeColumn.json().error.message, /no default time column/);
    // No SQL over HTTP: a `where` is dropped by the schema (only the command line takes --where).
    const sqlFragment = await get('/v1/quality/profile/events?columns=event&where=false');
    assert.equal(sqlFragment.statusCode, 200, sqlFragment.body);
    assert.equal(sqlFragment.json().rows, 1400);
    assert.equal((await m.app.inject({ method: 'GET', url: '/v1/quality/expectations' })).statusCode, 401);

    await new Promise((r) => setTimeout(r, 50)); // audit entries are written off the request path
    const audit = await get('/v1/audit?action=quality.profile&limit=20');
    assert.equal(audit.statusCode, 200, audit.body);
    assert.ok(audit.json().entries.length >= 5, `each profile read is audited: ${audit.body}`);
  } finally {
    await runs.close();
    await m.cleanup();
    lake.cleanup();
  }
});
