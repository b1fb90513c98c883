import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { refusedBecause } from '../../src/destinations/network-guard.js';
import { postWebhook } from '../../src/destinations/webhook.js';

let server: Server;
let port = 0;
const received: { headers: IncomingMessage['headers']; body: string }[] = [];
let answer = 200;
before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      if (answer === 302) res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
      else if (answer === 0) setTimeout(() => res.end(), 2000);
      else res.writeHead(answer).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
after(() => new Promise<void>((r) => server.close(() => r())));

test('loopback, private, link-local, metadata, CGNAT and mapped addresses are refused; public ones pass', () => {
  for (const a of ['127.0.0.1', '10.1.2.3', '172.20.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fd00:ec2::254', 'fe80::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1']) {
    assert.ok(refusedBecause(a), `${a} should be refused`);
  }
  assert.match(refusedBecause('169.254.169.254')!, /metadata/);
  for (const a of ['93.184.216.34', '8.8.8.8', '2001:4860:4860::8888', '::ffff:8.8.8.8']) assert.equal(refusedBecause(a), undefined, a);
});

test('SSRF: an IP literal and a name that resolves to loopback are refused before anything is sent', async () => {
  received.length = 0;
  const literal = await postWebhook({ url: `http://127.0.0.1:${port}/hook`, timeoutMs: 1000, allowPrivateNetworks: false }, '{}');
  assert.deepEqual(literal, { ok: false, reason: '127.0.0.1 is loopback; refused unless the destination sets allowPrivateNetworks', retry: false });
  const byName = await postWebhook({ url: `http://localhost:${port}/hook`, timeoutMs: 1000, allowPrivateNetworks: false }, '{}');
  assert.equal(byName.ok, false);
  assert.match((byName as { reason: string }).reason, /localhost resolves to (127\.0\.0\.1|::1) \(loopback\)/);
  assert.equal(received.length, 0, 'nothing reached the server');
});

test('signed POST; redirects are not followed; timeouts and 5xx are retryable, other 4xx are not', async () => {
  received.length = 0;
  const target = { url: `http://127.0.0.1:${port}/hook`, secret: 'a-secret-of-16-chars', timeoutMs: 300, allowPrivateNetworks: true };
  answer = 200;
  const body = JSON.stringify({ batch: [{ type: 'track', event: 'x' }] });
  assert.deepEqual(await postWebhook(target, body, {}, 1_700_000_000_000), { ok: true, status: 200 });
  const sig = received[0]!.headers['x-mosaic-signature'] as string;
  const expected = createHmac('sha256', target.secret).update(`1700000000.${body}`).digest('hex');
  assert.equal(sig, `t=1700000000,v1=${expected}`);
  assert.equal(received[0]!.body, body);
  answer = 302;
  const redirect = await postWebhook(target, body);
  assert.equal(redirect.ok, false);
  assert.match((redirect as { reason: string }).reason, /redirects are not followed/);
  assert.equal(received.length, 2, 'the redirect target was not requested');
  answer = 503;
  assert.deepEqual(await postWebhook(target, body), { ok: false, status: 503, reason: 'HTTP 503', retry: true });
  answer = 400;
  assert.deepEqual(await postWebhook(target, body), { ok: false, status: 400, reason: 'HTTP 400', retry: false });
  answer = 0;
  assert.deepEqual(await postWebhook(target, body), { ok: false, reason: 'no answer within 300 ms', retry: true });
});
