import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteJobRuns } from '../../src/adapters/sqlite/job-runs.js';
import { Scheduler, type ScheduleDef } from '../../src/jobs/scheduler.js';
import { Metrics } from '../../src/observe/metrics.js';
import { API_TOKEN, startMosaic, tempDir } from '../helpers.js';

const every = (name: string, cron = '* * * * * *'): ScheduleDef => ({ name, cron, timezone: 'UTC', job: { kind: 'compact' } });

test('scheduler: fires on the cron expression, never two runs of a job at once, records each run with its outcome', async () => {
  const runs = new SqliteJobRuns({ dir: ':memory:' });
  const metrics = new Metrics();
  let calls = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const s = new Scheduler([every('slow'), every('broken')], (def) => (def.name === 'slow' ? async () => { calls++; await gate; return { rows: 7 }; } : async () => { throw new Error('source unreachable'); }), runs, { metrics });
  s.start();
  try {
    // Every second: 'slow' keeps firing while its first run waits.
    await new Promise((r) => setTimeout(r, 2600));
    assert.equal(calls, 1, 'one run at a time');
    release();
    await new Promise((r) => setTimeout(r, 1200));
    assert.ok(calls >= 2, 'fires again once the run is over');
  } finally {
    await s.stop();
  }
  const slow = await runs.history('slow', 10);
  assert.ok(slow.length >= 1 && slow.every((r) => r.status === 'succeeded' && r.rows === 7));
  const broken = await runs.history('broken', 10);
  assert.ok(broken.length >= 2);
  assert.deepEqual([broken[0]!.status, broken[0]!.message], ['failed', 'source unreachable']);
  const text = await metrics.registry.metrics();
  assert.match(text, /mosaic_job_runs_total\{job="slow",status="skipped"\} [1-9]/);
  assert.match(text, /mosaic_job_runs_total\{job="broken",status="failed"\} [2-9]/);
  assert.deepEqual(s.list().map((j) => [j.name, j.kind, typeof j.next]), [['slow', 'compact', 'string'], ['broken', 'compact', 'string']]);
  await assert.rejects(s.runNow('nope'), /No scheduled job named "nope"/);
  await runs.close();
});

test('scheduler inside mosaic up: a nightly import job loads its rows and is recorded', async () => {
  const { dir, cleanup } = tempDir();
  const file = join(dir, 'crm.csv');
  writeFileSync(file, 'id,plan\ns1,pro\ns2,free\n');
  const m = await startMosaic({
    imports: [{ name: 'crm', source: { kind: 'csv', file }, mapping: { type: 'identify', userId: 'id', traits: ['plan'] } }],
    schedules: [{ name: 'crm-nightly', cron: '0 3 * * *', job: { kind: 'import', import: 'crm' } }],
  });
  try {
    await m.app.listen({ port: 0, host: '127.0.0.1' });
    assert.ok(m.scheduler, 'the scheduler runs inside mosaic up');
    const run = await m.scheduler.runNow('crm-nightly');
    assert.equal(run?.status, 'succeeded', run?.message);
    assert.equal(run?.rows, 2);
    await m.processor.drain();
    const p = (await m.app.inject({ method: 'GET', url: '/v1/profiles/user_id:s1', headers: { authorization: `Bearer ${API_TOKEN}` } })).json();
    assert.equal(p.traits.plan, 'pro');
    assert.match(m.scheduler.list()[0]!.next!, /T03:00:00/);
  } finally {
    await m.cleanup();
    cleanup();
  }
});

test('configuration: a schedule with a bad cron expression or an unknown import is refused at start', async () => {
  const { loadConfig } = await import('../../src/config.js');
  assert.throws(() => loadConfig({ env: {}, overrides: { schedules: [{ name: 'x', cron: '61 * * * *', job: { kind: 'compact' } }] } }), (e: unknown) => /cron/.test(JSON.stringify((e as { details?: unknown }).details)));
  assert.throws(() => loadConfig({ env: {}, overrides: { schedules: [{ name: 'x', cron: '0 3 * * *', job: { kind: 'import', import: 'ghost' } }] } }), (e: unknown) => /no import named \\"ghost\\"/.test(JSON.stringify((e as { details?: unknown }).details)));
});
