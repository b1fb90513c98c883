import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WRITE_KEY, basic, startMosaic } from '../helpers.js';

test('ingest answers 429 with Retry-After when the processor is too far behind', async () => {
  const m = await startMosaic({ processor: { enabled: false, maxLagEvents: 5 } });
  try {
    const batch = { batch: Array.from({ length: 10 }, (_, i) => ({ type: 'track', userId: `u${i}`, event: 'e' })) };
    const headers = { authorization: basic(WRITE_KEY), 'content-type': 'application/json' };
    assert.equal((await m.app.inject({ method: 'POST', url: '/v1/batch', payload: batch, headers })).statusCode, 200);
    assert.equal(m.processor.lag().events, 10, 'the processor is stopped: its lag is all 10 events, at once');
    const metrics = (await m.app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /^mosaic_processor_lag_events 10$/m, 'the gauge reads the same lag, not a stale copy');
    const r = await m.app.inject({ method: 'POST', url: '/v1/track', payload: { userId: 'u', event: 'e' }, headers });
    assert.equal(r.statusCode, 429);
    assert.equal(r.headers['retry-after'], '5');
    assert.equal(r.json().error.code, 'MOSAIC_OVERLOADED_PROCESSOR');
    const ready = await m.app.inject({ method: 'GET', url: '/health/ready' });
    assert.equal(ready.statusCode, 503);
  } finally {
    await m.cleanup();
  }
});

test('ingest answers 503 with Retry-After when the log has too much waiting to be written', async () => {
  const m = await startMosaic({ processor: { enabled: false }, log: { maxPendingEvents: 100 } });
  try {
    const headers = { authorization: basic(WRITE_KEY), 'content-type': 'application/json' };
    const batch = (n: number) => ({ batch: Array.from({ length: n }, (_, i) => ({ type: 'track', userId: `u${i}`, event: 'e' })) });
    // Two concurrent requests of 60: the second finds 60 waiting and would exceed 100.
    const [a, b] = await Promise.all([
      m.app.inject({ method: 'POST', url: '/v1/batch', payload: batch(60), headers }),
      m.app.inject({ method: 'POST', url: '/v1/batch', payload: batch(60), headers }),
    ]);
    const codes = [a.statusCode, b.statusCode].sort();
    assert.deepEqual(codes, [200, 503]);
    const rejected = a.statusCode === 503 ? a : b;
    assert.equal(rejected.headers['retry-after'], '1');
    assert.equal(rejected.json().error.code, 'MOSAIC_OVERLOADED_LOG');
  } finally {
    await m.cleanup();
  }
});
