import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteExpectationRuns } from '../../src/adapters/sqlite/quality-store.js';
import { plantLake } from './lake-fixture.js';
import { parseSuite, volumeVerdict, type SuiteDef } from '../../src/quality/expectations.js';
import { runExpectations } from '../../src/quality/run-expectations.js';
import { MosaicError } from '../../src/errors.js';
import { tempDir } from '../helpers.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 20, 12, 0);
const dayStart = (d: number) => Date.UTC(2026, 10, 5 + d);

const WEB = `suite: web_orders
table: events
where: "source_id = 'web' AND event = 'Order Completed'"
expectations:
  - not_null: { column: user_id }
  - unique: { column: "properties->>'order_id'" }
  - accepted_values: { column: "properties->>'currency'", values: [EUR, USD] }
  - in_range: { column: "properties->>'total'", min: 0, max: 1000 }
  - regex: { column: "properties->>'sku'", pattern: '^SKU-[0-9]+$' }
  - row_count_between: { min: 1500, max: 5000 }
  - freshness: { column: received_at, max_lag: 1d }
  - volume_anomaly: { method: zscore, days: 14 }
  - volume_anomaly: { method: iqr, days: 14 }
  - schema_drift: { column: properties, recent: 1d, days: 7 }
`;
const CRM = `suite: crm_users
table: events
where: "source_id = 'crm'"
expectations:
  - cross_source: { column: user_id, in: { where: "source_id = 'web'" }, within_days: 2 }
`;

let seq = 0;
function order(at: number, props: Record<string, unknown>, ids: Record<string, string> = { userId: `u${seq % 20}` }, receivedAt = at) {
  seq++;
  return JSON.stringify({ type: 'track', event: 'Order Completed', messageId: `m${seq}`, ...ids, timestamp: new Date(at).toISOString(), receivedAt: new Date(receivedAt).toISOString(), sourceId: 'web', properties: { order_id: `o${seq}`, total: 10 + (seq % 90), currency: seq % 2 ? 'EUR' : 'USD', sku: `SKU-${seq % 50}`, ...props } });
}
const crm = (user: string, at: number) => JSON.stringify({ type: 'identify', messageId: `crm-${user}`, userId: user, timestamp: new Date(at).toISOString(), receivedAt: new Date(at).toISOString(), sourceId: 'crm', traits: { plan: 'pro' } });

/** 15 days of orders (100, 105, 110 a day, Nov 5–19), CRM users u0–u19 imported Nov 10 and each ordering within 2 days; `bad` plants one problem per expectation. */
async function lake(bad: boolean): Promise<{ dir: string; cleanup: () => void }> {
  const events: string[] = [];
  for (let d = 0; d < 15; d++) {
    if (bad && d === 14) continue; // yesterday's events never came: volume drop, stale data
    const n = 100 + (d % 3) * 5;
    for (let i = 0; i < n; i++) events.push(order(dayStart(d) + Math.floor((i * DAY) / n), {}));
  }
  for (let u = 0; u < 20; u++) events.push(crm(`u${u}`, dayStart(5) - 3_600_000));
  if (bad) {
    const at = dayStart(7) + 3_600_000;
    events.push(order(at, {}, { anonymousId: 'a-only' })); // not_null
    events.push(order(at, { order_id: 'o-dup' }), order(at, { order_id: 'o-dup' })); // unique
    events.push(order(at, { currency: 'XXX' })); // accepted_values
    events.push(order(at, { total: -5 })); // in_range
    events.push(order(at, { sku: 'bad sku' })); // regex
    // schema_drift: today a new property, an old one gone (received, by its clock, with the rest).
    const drifted = JSON.parse(order(NOW - 3_600_000, {}, undefined, dayStart(13))) as { properties: Record<string, unknown> };
    delete drifted.properties.sku;
    drifted.properties.coupon_code = 'WELCOME';
    events.push(JSON.stringify(drifted));
    for (const u of ['u90', 'u91', 'u92']) events.push(crm(u, dayStart(5))); // cross_source: never seen on the web
  }
  return plantLake(events);
}

const suites: SuiteDef[] = [parseSuite(WEB, 'web.yaml'), parseSuite(CRM, 'crm.yaml')];

test('expectations: nothing raised on clean data', { timeout: 60_000 }, async () => {
  const clean = await lake(false);
  try {
    const runs = await runExpectations(join(clean.dir, 'lake'), suites, { now: NOW });
    for (const run of runs) for (const r of run.results) assert.equal(r.status, 'pass', `${run.suite} ${r.name}: ${r.message}`);
    const web = runs[0]!.results;
    assert.equal(web.find((r) => r.name === 'row_count_between()')!.observed.rows, 1575);
    assert.deepEqual(web.find((r) => r.name === 'volume_anomaly(zscore)')!.observed.history, [100, 105, 110, 100, 105, 110, 100, 105, 110, 100, 105, 110, 100, 105]);
    assert.equal(runs[1]!.results[0]!.observed.checked, 20);
  } finally {
    clean.cleanup();
  }
});

test('expectations: each catches its planted problem, with examples', { timeout: 60_000 }, async () => {
  const bad = await lake(true);
  const runsStore = new SqliteExpectationRuns({ dir: bad.dir });
  try {
    const [web, crmRun] = await runExpectations(join(bad.dir, 'lake'), suites, { now: NOW, runs: runsStore });
    const by = Object.fromEntries(web!.results.map((r) => [r.name, r]));
    for (const r of web!.results) assert.equal(r.status, 'fail', `${r.name} should catch its problem: ${r.message}`);
    assert.equal(web!.status, 'fail');
    assert.deepEqual(by['not_null(user_id)']!.observed, { rows: 1472, nulls: 1, nullRate: 0.001 });
    assert.deepEqual(by["unique(properties->>'order_id')"]!.examples, [['o-dup', 2]]);
    assert.deepEqual(by["accepted_values(properties->>'currency')"]!.examples, ['XXX']);
    assert.deepEqual(by["in_range(properties->>'total')"]!.examples, ['-5']);
    assert.deepEqual(by["regex(properties->>'sku')"]!.examples, ['bad sku']);
    assert.equal(by['row_count_between()']!.observed.rows, 1472);
    assert.ok(Number(by['freshness(received_at)']!.observed.lagSeconds) > 86_400);
    assert.equal(by['volume_anomaly(zscore)']!.observed.count, 0);
    assert.equal(by['volume_anomaly(iqr)']!.observed.count, 0);
    assert.deepEqual([by['schema_drift(properties)']!.observed.new, by['schema_drift(properties)']!.observed.vanished], [['coupon_code'], ['sku']]);
    assert.equal(crmRun!.results[0]!.status, 'fail');
    assert.deepEqual(crmRun!.results[0]!.examples, ['u90', 'u91', 'u92']);
    assert.deepEqual((await runsStore.history(undefined, 10)).map((r) => [r.suite, r.status]), [['crm_users', 'fail'], ['web_orders', 'fail']]);

    // The CLI: exit 1, the text report, the HTML and JSON reports with history.
    const dir = bad.dir;
    writeFileSync(join(dir, 'web.yaml'), WEB.replace('max_lag: 1d', 'max_lag: 100000d'));
    writeFileSync(join(dir, 'mosaic.yaml'), 'quality: { expectations: [web.yaml] }\n');
    const cli = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [join(import.meta.dirname, '../../src/cli/main.js'), 'expectations', 'run', '--html', 'report.html', '--report-json', 'report.json'], { cwd: dir, env: { ...process.env, MOSAIC_DATA_DIR: dir } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });
    assert.equal(cli.status, 1, cli.stderr);
    assert.match(cli.stdout, /✗ web_orders \(events\): \d+\/10 passed/);
    assert.match(cli.stdout, /✓ freshness\(received_at\)/);
    assert.match(cli.stdout, /✗ regex\(properties->>'sku'\)\s+1 rows have a properties->>'sku' not matching \/\^SKU-\[0-9\]\+\$\/ {2}e\.g\. "bad sku"/);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    assert.match(html, /<h2>web_orders <span class="b fail">fail<\/span><\/h2>/);
    assert.match(html, /<h2>crm_users/, 'the report shows every suite\'s latest run');
    assert.doesNotMatch(html, /<script/);
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as { suites: { suite: string; results: { name: string; history: { status: string }[] }[] }[] };
    const fresh = report.suites.find((s) => s.suite === 'web_orders')!.results.find((r) => r.name === 'freshness(received_at)')!;
    assert.deepEqual(fresh.history.map((h) => h.status), ['fail', 'pass'], 'the history of each expectation');
  } finally {
    await runsStore.close();
    bad.cleanup();
  }
});

test('volume verdicts: z-score and IQR on the trailing days', () => {
  const history = [100, 104, 98, 101, 99, 103, 97, 100, 102, 96];
  assert.equal(volumeVerdict('zscore', history, 101).anomalous, false);
  assert.equal(volumeVerdict('zscore', history, 140).anomalous, true);
  assert.equal(volumeVerdict('zscore', history, 60).anomalous, true);
  assert.equal(volumeVerdict('iqr', history, 105).anomalous, false);
  assert.equal(volumeVerdict('iqr', history, 120).anomalous, true);
  assert.equal(volumeVerdict('zscore', [5, 5, 5], 5).anomalous, false, 'a flat history and the same count');
  assert.equal(volumeVerdict('zscore', [5, 5, 5], 6).anomalous, true);
});

test('a suite with a mistake is refused with where it is', () => {
  const bad = (text: string) => {
    try {
      parseSuite(text, 's.yaml');
    } catch (err) {
      assert.ok(err instanceof MosaicError);
      return err.details.map((d) => `${d.path} ${d.message}`);
    }
    assert.fail('accepted');
  };
  assert.deepEqual(bad('table: events\nexpectations:\n  - not_nul: { column: a }\n'), ['s.yaml#/expectations/0 each expectation is one of not_null, unique, accepted_values, in_range, regex, row_count_between, freshness, volume_anomaly, schema_drift, cross_source']);
  assert.ok(bad('table: events\nexpectations:\n  - freshness: { max_lag: soon }\n').some((l) => l.startsWith('s.yaml#/expectations/0/freshness/max_lag')));
  assert.ok(bad('table: "events; DROP"\nexpectations:\n  - unique: { column: a }\n').some((l) => l.startsWith('s.yaml#/table')));
  assert.equal(parseSuite('table: events\nexpectations:\n  - unique: { column: a }\n', 'dir/my_suite.yaml').suite, 'my_suite');
});

test('a scheduled expectations job records its run, fails when an expectation does, and the results are metrics', { timeout: 60_000 }, async () => {
  const { startMosaic } = await import('../helpers.js');
  const t = tempDir();
  writeFileSync(join(t.dir, 'suite.yaml'), 'suite: volume\ntable: events\nexpectations:\n  - row_count_between: { min: 1 }\n  - not_null: { column: message_id }\n');
  const m = await startMosaic({ quality: { expectations: [join(t.dir, 'suite.yaml')] }, schedules: [{ name: 'quality', cron: '0 * * * *', job: { kind: 'expectations' } }] });
  try {
    const run = await m.scheduler!.runNow('quality');
    assert.equal(run?.status, 'failed');
    assert.match(run!.message!, /1 expectation not passing: volume: row_count_between\(\) fail: 0 rows/);
    const metrics = (await m.app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /mosaic_expectation_passing\{suite="volume",expectation="row_count_between\(\)"\} 0/);
    assert.match(metrics, /mosaic_expectation_passing\{suite="volume",expectation="not_null\(message_id\)"\} 1/);
    assert.match(metrics, /mosaic_expectation_last_run_timestamp_seconds\{suite="volume"\} \d+/);
  } finally {
    await m.cleanup();
    t.cleanup();
  }
  const { loadConfig } = await import('../../src/config.js');
  assert.throws(
    () => loadConfig({ env: {}, overrides: { schedules: [{ name: 'q', cron: '0 * * * *', job: { kind: 'expectations' } }] } }),
    (err: MosaicError) => err.details[0]!.message === 'an expectations job needs suites under quality.expectations',
  );
});
