import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Envelope } from '../../src/core/envelope.js';
import { API_TOKEN, WRITE_KEY, basic, startMosaic } from '../helpers.js';

test('destinations: audience changes and filtered events are delivered at least once, retried with back-off, dead-lettered when they cannot be', async () => {
  const requests: { attempt: string; batch: Envelope[] }[] = [];
  const answers: number[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      requests.push({ attempt: String(req.headers['x-mosaic-attempt']), batch: (JSON.parse(body) as { batch: Envelope[] }).batch });
      res.writeHead(answers.shift() ?? 200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const m = await startMosaic({
    processor: { enabled: false },
    audiences: [{ name: 'pros', rule: { trait: 'plan', op: 'eq', value: 'pro' } }],
    destinations: [{ name: 'crm', url, secret: 'a-secret-of-16-chars', allowPrivateNetworks: true, backoffMs: 5, maxAttempts: 3, forward: { audiences: true, events: { names: ['Order Completed'] } } }],
  });
  const send = async (batch: object[]) => {
    assert.equal((await m.app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: basic(WRITE_KEY) }, payload: { batch } })).statusCode, 200);
    await m.processor.drain();
  };
  const crm = m.deliverers[0]!;
  const deadLetters = async () => (await m.app.inject({ method: 'GET', url: '/v1/dead-letters?kind=destination', headers: { authorization: `Bearer ${API_TOKEN}` } })).json().deadLetters as { reason: string; event: Envelope }[];
  try {
    await send([
      { type: 'identify', userId: 'ada', traits: { plan: 'pro' } },
      { type: 'track', userId: 'ada', event: 'Product Viewed' },
      { type: 'track', userId: 'ada', event: 'Order Completed', properties: { total: 42 } },
    ]);
    answers.push(500); // the first attempt fails, the retry succeeds
    while ((await crm.deliverOnce()) > 0);
    assert.deepEqual(requests.map((r) => r.attempt), ['1', '2']);
    const delivered = requests[1]!.batch.map((e) => e.event).sort();
    assert.deepEqual(delivered, ['Audience Entered', 'Order Completed'], 'audience changes and the filtered event, nothing else');
    assert.equal(await crm.lag(), 0);

    // A 4xx is not retried; 5xx until maxAttempts; both end in the dead-letter list.
    requests.length = 0;
    answers.push(422);
    await send([{ type: 'track', userId: 'ada', event: 'Order Completed', properties: { total: 1 } }]);
    while ((await crm.deliverOnce()) > 0);
    answers.push(503, 503, 503);
    await send([{ type: 'track', userId: 'ada', event: 'Order Completed', properties: { total: 2 } }]);
    while ((await crm.deliverOnce()) > 0);
    assert.deepEqual(requests.map((r) => r.attempt), ['1', '1', '2', '3']);
    const dl = await deadLetters();
    assert.deepEqual(dl.map((d) => [d.reason, d.event.properties!.total]), [
      ['HTTP 422 (not retried)', 1],
      ['HTTP 503 after 3 attempts', 2],
    ]);
    const metrics = (await m.app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /^mosaic_destination_events_total\{destination="crm",outcome="delivered"\} 2$/m);
    assert.match(metrics, /^mosaic_destination_events_total\{destination="crm",outcome="dead_lettered"\} 2$/m);
    assert.match(metrics, /^mosaic_destination_lag_events\{destination="crm"\} 0$/m);
  } finally {
    await m.cleanup();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('destinations deliver from one process at a time; the one that takes over resumes where the other stopped', async () => {
  const received: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      for (const e of (JSON.parse(body) as { batch: Envelope[] }).batch) received.push(String(e.properties?.n));
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const m = await startMosaic({
    processor: { enabled: false },
    destinations: [{ name: 'crm', url, secret: 'a-secret-of-16-chars', allowPrivateNetworks: true, forward: { audiences: false, events: { names: ['Order Completed'] } } }],
  });
  const { Deliverer } = await import('../../src/destinations/deliverer.js');
  const def = m.deliverers[0]!.def;
  let leader: 'a' | 'b' = 'a';
  const a = new Deliverer(m.log, m.store, def, { active: () => leader === 'a' });
  const b = new Deliverer(m.log, m.store, def, { active: () => leader === 'b' });
  const send = async (from: number, to: number) => {
    const batch = Array.from({ length: to - from }, (_, i) => ({ type: 'track', userId: 'ada', event: 'Order Completed', properties: { n: from + i } }));
    assert.equal((await m.app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: basic(WRITE_KEY) }, payload: { batch } })).statusCode, 200);
  };
  const until = async (n: number) => {
    for (let i = 0; received.length < n; i++) {
      assert.ok(i < 200, `only ${received.length} of ${n} delivered`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  try {
    await a.init();
    await b.init();
    a.start();
    b.start();
    await send(0, 5);
    await until(5);
    leader = 'b';
    await new Promise((r) => setTimeout(r, 1200)); // a notices at its next wake-up
    await send(5, 10);
    await until(10);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(received.map(Number).sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'each event once, across the handover');
  } finally {
    await a.stop();
    await b.stop();
    await m.cleanup();
    await new Promise<void>((r) => server.close(() => r()));
  }
});
