import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { API_TOKEN, WRITE_KEY, basic, startMosaic } from '../helpers.js';

const FIXTURES = join(import.meta.dirname, '../../../test/fixtures/transformations');

test('transformations run in the processor: changes reach the profile, failures reach GET /v1/dead-letters and metrics', async () => {
  const m = await startMosaic({ processor: { enabled: false }, transformations: [{ name: 'shop', file: join(FIXTURES, 'shop.js'), timeoutMs: 50 }] });
  try {
    const batch = ['Viewed', 'Debug', 'Order Completed', 'Boom'].map((event) => ({ type: 'track', userId: 'u1', event, properties: { total: 30 } }));
    const r = await m.app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: basic(WRITE_KEY) }, payload: { batch } });
    assert.equal(r.statusCode, 200);
    await m.processor.drain();
    const bearer = { authorization: `Bearer ${API_TOKEN}` };
    const p = (await m.app.inject({ method: 'GET', url: '/v1/profiles/user_id:u1', headers: bearer })).json();
    assert.deepEqual(p.eventCounts, { Viewed: 1, 'Order Completed': 1, Revenue: 1 });
    const dl = await m.app.inject({ method: 'GET', url: '/v1/dead-letters?kind=transformation', headers: bearer });
    assert.equal(dl.statusCode, 200, dl.body);
    const body = dl.json();
    assert.equal(body.deadLetters.length, 1);
    assert.equal(body.deadLetters[0].reason, 'threw: cannot handle Boom');
    assert.equal(body.deadLetters[0].event.event, 'Boom');
    assert.equal(body.next, null);
    assert.equal((await m.app.inject({ method: 'GET', url: '/v1/dead-letters' })).statusCode, 401);
    const metrics = (await m.app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /^mosaic_dead_letters_total\{kind="transformation",name="shop"\} 1$/m);
    assert.match(metrics, /^mosaic_transformation_dropped_total 1$/m);
  } finally {
    await m.cleanup();
  }
});
