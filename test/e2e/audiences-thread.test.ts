import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Envelope } from '../../src/core/envelope.js';
import { API_TOKEN, WRITE_KEY, basic, startMosaic } from '../helpers.js';

test('as `mosaic up` runs it (processor thread): audience events reach the log through the host, and the timer runs in the thread', { timeout: 30_000 }, async () => {
  const m = await startMosaic({
    processor: { mode: 'thread' },
    audienceTimer: { intervalMs: 50, sizeSampleSeconds: 1 },
    audiences: [{ name: 'pros', rule: { trait: 'plan', op: 'eq', value: 'pro' } }],
  });
  const audienceEvents = async () => {
    const out: string[] = [];
    const ends = await m.log.endOffsets();
    for (let p = 0; p < ends.length; p++) {
      for (const e of await m.log.read(p, 1, 1000)) {
        const ev = JSON.parse(e.payload) as Envelope;
        if (ev.sourceId === 'mosaic:audiences') out.push(`${ev.event} ${ev.userId}`);
      }
    }
    return out.sort();
  };
  try {
    const r = await m.app.inject({ method: 'POST', url: '/v1/identify', headers: { authorization: basic(WRITE_KEY) }, payload: { userId: 'ada', traits: { plan: 'pro' } } });
    assert.equal(r.statusCode, 200);
    for (let i = 0; i < 200 && (await audienceEvents()).length === 0; i++) await new Promise((res) => setTimeout(res, 25));
    assert.deepEqual(await audienceEvents(), ['Audience Entered ada']);
    const profile = await m.app.inject({ method: 'GET', url: '/v1/profiles/user_id:ada', headers: { authorization: `Bearer ${API_TOKEN}` } });
    assert.deepEqual(profile.json().audiences, ['pros']);
    // The timer in the thread samples the size every second: it goes from nothing to 1.
    let sizes: { size: number }[] = [];
    for (let i = 0; i < 200 && sizes.at(-1)?.size !== 1; i++) {
      sizes = (await m.app.inject({ method: 'GET', url: '/v1/audiences/pros/sizes', headers: { authorization: `Bearer ${API_TOKEN}` } })).json().sizes;
      if (sizes.at(-1)?.size !== 1) await new Promise((res) => setTimeout(res, 25));
    }
    assert.equal(sizes.at(-1)?.size, 1, JSON.stringify(sizes));
  } finally {
    await m.cleanup();
  }
});
