import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metrics } from '../../src/observe/metrics.js';
import { quantileBetween, summarize, type MetricReading } from '../../src/core/metrics-summary.js';

const INGEST = new Set(['/v1/batch']);
// Copied, as the sampler copies them: prom-client's readings are its live value objects.
const read = async (m: Metrics) => structuredClone(await m.registry.getMetricsAsJSON()) as MetricReading[];

test('summarize: rates from counter differences, percentiles from the interval only, lags as read', async () => {
  const m = new Metrics();
  m.eventsAccepted.inc({ type: 'track' }, 100);
  m.httpSeconds.observe({ route: '/v1/batch' }, 0.5); // before the interval: must not count
  const before = await read(m);

  m.eventsAccepted.inc({ type: 'track' }, 40);
  m.eventsAccepted.inc({ type: 'identify' }, 10);
  m.eventsRejected.inc({ reason: 'required' }, 5);
  for (let i = 0; i < 100; i++) m.httpSeconds.observe({ route: '/v1/batch' }, 0.0015);
  m.httpSeconds.observe({ route: '/v1/profiles/:ref' }, 2); // not an ingest route
  m.decideSeconds.observe(0.0004);
  m.processorLagEvents.set(7);
  const after = await read(m);

  const p = summarize(before, after, 10, INGEST);
  assert.equal(p.accepted_per_s, 5);
  assert.equal(p.rejected_per_s, 0.5);
  assert.equal(p['rejected_per_s:required'], 0.5);
  assert.ok(p.ingest_p99_ms! > 1 && p.ingest_p99_ms! <= 2, `ingest p99 within the 1–2 ms bucket: ${p.ingest_p99_ms}`);
  assert.ok(p.decide_p50_ms! > 0 && p.decide_p50_ms! <= 1);
  assert.equal(p.processor_lag_events, 7);
  assert.equal('freshness_p99_ms' in p, false, 'no observation in the interval: no figure');
});

test('summarize: a counter that went down (a restart) counts from zero', async () => {
  const a = new Metrics();
  a.eventsAccepted.inc({ type: 'track' }, 1000);
  const b = new Metrics();
  b.eventsAccepted.inc({ type: 'track' }, 30);
  assert.equal(summarize(await read(a), await read(b), 10, INGEST).accepted_per_s, 3);
});

test('quantileBetween interpolates in the bucket; NaN with nothing observed; the top finite bound for +Inf', () => {
  const before = new Map([[1, 0], [2, 0], [Infinity, 0]]);
  assert.equal(quantileBetween(before, new Map([[1, 50], [2, 100], [Infinity, 100]]), 0.75), 1.5);
  assert.ok(Number.isNaN(quantileBetween(before, before, 0.5)));
  assert.equal(quantileBetween(before, new Map([[1, 0], [2, 0], [Infinity, 10]]), 0.5), 2);
});
