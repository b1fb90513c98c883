import { test } from 'node:test';
import assert from 'node:assert/strict';
import Analytics from '@rudderstack/rudder-sdk-node';
import { API_TOKEN, WRITE_KEY, startMosaic } from '../helpers.js';

test('the real @rudderstack/rudder-sdk-node SDK (gzip batches) sends to Mosaic unchanged but for host and key', async () => {
  const m = await startMosaic();
  try {
    await m.app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(m.app.server.address() as { port: number }).port}`;
    const errors: unknown[] = [];
    const client = new Analytics(WRITE_KEY, { dataPlaneUrl: base, flushAt: 100, flushInterval: 60_000, retryCount: 0, logLevel: 'error', errorHandler: (e: unknown) => errors.push(e) });
    client.page({ anonymousId: 'rs-anon', name: 'Pricing' });
    client.identify({ anonymousId: 'rs-anon', userId: 'rs-user', traits: { company: 'Initech' } });
    client.track({ userId: 'rs-user', event: 'Trial Started', properties: { plan: 'team' } });
    await client.flush();
    assert.deepEqual(errors, []);

    await m.processor.drain();
    const r = await fetch(`${base}/v1/profiles/anonymous_id:rs-anon`, { headers: { authorization: `Bearer ${API_TOKEN}` } });
    assert.equal(r.status, 200);
    const p = (await r.json()) as { traits: unknown; eventCount: number; identities: unknown };
    assert.equal(p.eventCount, 3);
    assert.deepEqual(p.traits, { company: 'Initech' });
    assert.deepEqual(p.identities, [{ type: 'user_id', id: 'rs-user' }, { type: 'anonymous_id', id: 'rs-anon' }]);
  } finally {
    await m.cleanup();
  }
});
