import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Analytics } from '@segment/analytics-node';
import { API_TOKEN, WRITE_KEY, startMosaic } from '../helpers.js';

test('the real @segment/analytics-node SDK sends to Mosaic and the profile reads back over HTTP', async () => {
  const m = await startMosaic({ processor: { mode: 'thread' } }); // as `mosaic up` runs it
  try {
    await m.app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(m.app.server.address() as { port: number }).port}`;
    const analytics = new Analytics({ writeKey: WRITE_KEY, host: base, flushAt: 5, flushInterval: 50, maxRetries: 0 });
    const errors: unknown[] = [];
    analytics.on('error', (e) => errors.push(e));

    analytics.track({ anonymousId: 'sdk-anon', event: 'Product Viewed', properties: { sku: 'A1' } });
    analytics.page({ anonymousId: 'sdk-anon', name: 'Home' });
    analytics.identify({ anonymousId: 'sdk-anon', userId: 'sdk-user', traits: { email: 'sdk@example.com', plan: 'trial' } });
    analytics.track({ userId: 'sdk-user', event: 'Order Completed', properties: { total: 30 } });
    analytics.identify({ userId: 'sdk-user', traits: { plan: 'pro' }, timestamp: new Date(Date.now() + 1000) });
    analytics.alias({ userId: 'sdk-user', previousId: 'legacy-crm-7' });
    analytics.group({ userId: 'sdk-user', groupId: 'acme', traits: { name: 'ACME' } });
    await analytics.closeAndFlush({ timeout: 10_000 });
    assert.deepEqual(errors, []);

    // Freshness: the profile is there within moments of the 200s.
    let profile: Record<string, unknown> | undefined;
    for (let i = 0; i < 100 && !profile; i++) {
      const r = await fetch(`${base}/v1/profiles/anonymous_id:sdk-anon`, { headers: { authorization: `Bearer ${API_TOKEN}` } });
      if (r.status === 200) {
        const p = (await r.json()) as Record<string, unknown>;
        if (p.eventCount === 7) profile = p;
      }
      if (!profile) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(profile, 'profile with all 7 events');
    assert.deepEqual(profile.traits, { email: 'sdk@example.com', plan: 'pro' });
    assert.deepEqual(profile.eventCounts, { 'Product Viewed': 1, 'Order Completed': 1 });
    assert.deepEqual(profile.typeCounts, { track: 2, page: 1, identify: 2, alias: 1, group: 1 });
    // The alias linked the CRM's old id; the email is a node too, pseudonymized.
    const identities = profile.identities as { type: string; id: string }[];
    assert.deepEqual(identities.map((i) => `${i.type}:${i.type === 'email' ? '…' : i.id}`), ['user_id:sdk-user', 'email:…', 'anonymous_id:legacy-crm-7', 'anonymous_id:sdk-anon']);

    // The processor runs in a thread; its metrics are merged into /metrics.
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /^mosaic_processor_events_total 7$/m);
    assert.match(metrics, /^mosaic_event_to_profile_seconds_count 7$/m);
    // Batches: at least one, and together they hold the seven events.
    assert.match(metrics, /^mosaic_processor_batch_events_sum 7$/m);
    assert.match(metrics, /^mosaic_processor_batch_events_count [1-7]$/m);
    assert.match(metrics, /^mosaic_events_accepted_total\{type="track"\} 2$/m);

    const traits = await fetch(`${base}/v1/spaces/default/collections/users/profiles/user_id:sdk-user/traits`, {
      headers: { authorization: 'Basic ' + Buffer.from(`${API_TOKEN}:`).toString('base64') },
    });
    assert.equal(traits.status, 200);
    assert.deepEqual(((await traits.json()) as { traits: unknown }).traits, { email: 'sdk@example.com', plan: 'pro' });
  } finally {
    await m.cleanup();
  }
});
