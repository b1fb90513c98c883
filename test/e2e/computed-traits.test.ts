import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { createMosaic } from '../../src/app.js';
import { runReplay } from '../../src/cli/replay.js';
import { loadConfig } from '../../src/config.js';
import { Metrics } from '../../src/observe/metrics.js';
import { API_TOKEN, WRITE_KEY, basic, tempDir } from '../helpers.js';

const ORDERS = { name: 'orders', op: 'count', event: 'Order Completed' };
const REVENUE = { name: 'revenue', op: 'sum', event: 'Order Completed', property: 'properties.revenue' };
const LAST_CITY = { name: 'last_city', op: 'last', type: 'identify', property: 'traits.city' };

test('computed traits show on the profile API, and a replay computes a newly declared one over old events', async () => {
  const { dir, cleanup } = tempDir();
  const configWith = (computedTraits: object[]) =>
    loadConfig({ env: {}, cwd: dir, overrides: { dataDir: dir, writeKey: WRITE_KEY, apiToken: API_TOKEN, logLevel: 'silent', processor: { mode: 'inline' }, computedTraits } });
  const open = (computedTraits: object[]) => createMosaic(configWith(computedTraits), { logger: pino({ level: 'silent' }), metrics: new Metrics() });
  const read = async (m: Awaited<ReturnType<typeof open>>, url: string) =>
    (await m.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${API_TOKEN}` } })).json();
  try {
    const m = await open([ORDERS, REVENUE]);
    const batch = [
      { type: 'identify', userId: 'c1', traits: { city: 'Lyon' }, timestamp: '2026-11-01T00:00:00.000Z' },
      { type: 'track', userId: 'c1', event: 'Order Completed', properties: { revenue: 30.1 } },
      { type: 'track', userId: 'c1', event: 'Order Completed', properties: { revenue: 12.2 } },
      { type: 'identify', userId: 'c1', traits: { city: 'Nantes' }, timestamp: '2026-11-02T00:00:00.000Z' },
      { type: 'track', userId: 'c1', event: 'Product Viewed' },
    ];
    const r = await m.app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: basic(WRITE_KEY) }, payload: { batch } });
    assert.equal(r.statusCode, 200);
    await m.processor.drain();
    assert.deepEqual((await read(m, '/v1/profiles/user_id:c1')).computedTraits, { orders: 2, revenue: 42.3 });
    const segment = await read(m, '/v1/spaces/s/collections/users/profiles/user_id:c1/traits');
    assert.deepEqual(segment.traits, { city: 'Nantes', orders: 2, revenue: 42.3 }, 'Segment clients see computed traits among traits');
    assert.equal((await read(m, '/health')).profiles.computedTraitsCurrent, true);
    await m.close();

    // Declared without a replay: the profile says its computed traits are not current.
    const stale = await open([ORDERS, REVENUE, LAST_CITY]);
    assert.equal((await read(stale, '/health')).profiles.computedTraitsCurrent, false);
    await stale.close();

    await runReplay(configWith([ORDERS, REVENUE, LAST_CITY]));
    const again = await open([ORDERS, REVENUE, LAST_CITY]);
    assert.deepEqual((await read(again, '/v1/profiles/user_id:c1')).computedTraits, { orders: 2, revenue: 42.3, last_city: 'Nantes' });
    assert.equal((await read(again, '/health')).profiles.computedTraitsCurrent, true, 'the replay rebuilt them');
    await again.close();
  } finally {
    cleanup();
  }
});
