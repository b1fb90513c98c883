import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import type { Mosaic } from '../../src/app.js';
import { WRITE_KEY, basic, startMosaic } from '../helpers.js';

let m: Mosaic & { cleanup: () => Promise<void> };
before(async () => {
  m = await startMosaic({ processor: { enabled: false } });
});
after(async () => m.cleanup());

const auth = { authorization: basic(WRITE_KEY) };
const post = (url: string, payload: unknown, headers: Record<string, string> = auth) =>
  m.app.inject({ method: 'POST', url, payload: typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload), headers: { 'content-type': 'application/json', ...headers } });

async function logged(): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (let p = 0; p < m.log.partitions; p++) for (const e of await m.log.read(p, 1, 1e6)) out.push(JSON.parse(e.payload));
  return out;
}
const byId = async (messageId: string) => (await logged()).filter((e) => e.messageId === messageId);

test('every single-message endpoint, long and short, accepts its type', async () => {
  const cases: [string, Record<string, unknown>][] = [
    ['identify', { traits: { a: 1 } }], ['track', { event: 'E' }], ['page', { name: 'Home' }], ['screen', { name: 'S' }],
    ['group', { groupId: 'g' }], ['alias', { previousId: 'old' }],
    ['i', {}], ['t', { event: 'E' }], ['p', {}], ['s', {}], ['g', { groupId: 'g' }], ['a', { previousId: 'old' }],
  ];
  for (const [path, body] of cases) {
    const messageId = `single-${path}`;
    const r = await post(`/v1/${path}`, { userId: 'u1', messageId, ...body });
    assert.equal(r.statusCode, 200, `${path}: ${r.body}`);
    assert.deepEqual(r.json(), { success: true });
    const [stored] = await byId(messageId);
    assert.ok(stored, path);
    assert.ok(typeof stored.receivedAt === 'string' && typeof stored.timestamp === 'string');
  }
});

test('the route decides the type of a single message', async () => {
  await post('/v1/page', { type: 'track', userId: 'u', messageId: 'route-type' });
  assert.equal((await byId('route-type'))[0]!.type, 'page');
});

test('batch, import, analytics.js /v1/b and RudderStack beacon accept batches', async () => {
  for (const url of ['/v1/batch', '/v1/import', '/v1/b']) {
    const r = await post(url, { batch: [{ type: 'track', userId: 'u', event: 'E', messageId: `b-${url}` }] });
    assert.equal(r.statusCode, 200, url);
    assert.equal((await byId(`b-${url}`)).length, 1);
  }
  const beacon = await m.app.inject({
    method: 'POST',
    url: `/beacon/v1/batch?writeKey=${WRITE_KEY}`,
    headers: { 'content-type': 'text/plain;charset=UTF-8' },
    payload: JSON.stringify({ batch: [{ type: 'page', anonymousId: 'a', messageId: 'beacon-1' }], sentAt: new Date().toISOString() }),
  });
  assert.equal(beacon.statusCode, 200, beacon.body);
  assert.equal((await byId('beacon-1')).length, 1);
});

test('write key in the body with a text/plain body (analytics.js without a preflight)', async () => {
  const r = await m.app.inject({
    method: 'POST', url: '/v1/t', headers: { 'content-type': 'text/plain' },
    payload: JSON.stringify({ writeKey: WRITE_KEY, anonymousId: 'a', event: 'Clicked', messageId: 'plain-1' }),
  });
  assert.equal(r.statusCode, 200, r.body);
  const [stored] = await byId('plain-1');
  assert.equal(stored!.writeKey, undefined, 'the write key is not stored with the event');
});

test('auth: missing or unknown write key is 401 with a code', async () => {
  const none = await post('/v1/track', { userId: 'u', event: 'e' }, {});
  assert.equal(none.statusCode, 401);
  assert.equal(none.json().error.code, 'MOSAIC_AUTH_WRITE_KEY_MISSING');
  const bad = await post('/v1/track', { userId: 'u', event: 'e' }, { authorization: basic('nope') });
  assert.equal(bad.statusCode, 401);
  assert.equal(bad.json().error.code, 'MOSAIC_AUTH_WRITE_KEY_INVALID');
  const badBody = await post('/v1/track', { userId: 'u', event: 'e', writeKey: 'nope' }, {});
  assert.equal(badBody.statusCode, 401);
});

test('gzip bodies are accepted; broken gzip and unknown encodings are rejected', async () => {
  const body = gzipSync(JSON.stringify({ batch: [{ type: 'track', userId: 'u', event: 'Z', messageId: 'gz-1' }] }));
  const ok = await post('/v1/batch', body, { ...auth, 'content-encoding': 'gzip' });
  assert.equal(ok.statusCode, 200, ok.body);
  assert.equal((await byId('gz-1')).length, 1);
  const broken = await post('/v1/batch', Buffer.from('not gzip at all'), { ...auth, 'content-encoding': 'gzip' });
  assert.equal(broken.statusCode, 400);
  assert.equal(broken.json().error.code, 'MOSAIC_BODY_BAD_GZIP');
  const br = await post('/v1/batch', body, { ...auth, 'content-encoding': 'br' });
  assert.equal(br.statusCode, 415);
  assert.equal(br.json().error.code, 'MOSAIC_BODY_UNSUPPORTED_ENCODING');
});

test('limits: 32 KB per message, 500 KB per batch (also after gunzip)', async () => {
  const big = 'x'.repeat(33 * 1024);
  const single = await post('/v1/track', { userId: 'u', event: 'e', properties: { big } });
  assert.equal(single.statusCode, 413);
  assert.equal(single.json().error.code, 'MOSAIC_MESSAGE_TOO_LARGE');

  const inBatch = await post('/v1/batch', { batch: [{ type: 'track', userId: 'u', event: 'e', properties: { big }, messageId: 'big-1' }, { type: 'track', userId: 'u', event: 'e', messageId: 'small-1' }] });
  assert.equal(inBatch.statusCode, 400);
  const j = inBatch.json();
  assert.equal(j.error.details[0].rule, 'maxBytes');
  assert.equal(j.error.details[0].index, 0);
  assert.equal(j.accepted, 1);
  assert.equal((await byId('big-1')).length, 0);
  assert.equal((await byId('small-1')).length, 1);

  const batch = { batch: Array.from({ length: 20 }, () => ({ type: 'track', userId: 'u', event: 'e', properties: { s: 'y'.repeat(30 * 1024) } })) };
  const tooBig = await post('/v1/batch', batch);
  assert.equal(tooBig.statusCode, 413);
  assert.equal(tooBig.json().error.code, 'MOSAIC_BATCH_TOO_LARGE');
  const bomb = await post('/v1/batch', gzipSync(JSON.stringify(batch)), { ...auth, 'content-encoding': 'gzip' });
  assert.equal(bomb.statusCode, 413, 'the limit applies to the decompressed body');
});

test('malformed requests get 4xx with a code, a message and details', async () => {
  const notJson = await post('/v1/track', '{"userId": ');
  assert.equal(notJson.statusCode, 400);
  assert.equal(notJson.json().error.code, 'MOSAIC_BODY_INVALID_JSON');
  const arr = await post('/v1/track', '[1,2]');
  assert.equal(arr.json().error.code, 'MOSAIC_BODY_NOT_OBJECT');
  const noBatch = await post('/v1/batch', { messages: [] });
  assert.equal(noBatch.json().error.code, 'MOSAIC_BATCH_NOT_ARRAY');
  const empty = await post('/v1/batch', { batch: [] });
  assert.equal(empty.json().error.code, 'MOSAIC_BATCH_EMPTY');
  const invalid = await post('/v1/track', { event: 'e', timestamp: 'later' });
  assert.equal(invalid.statusCode, 400);
  const e = invalid.json().error;
  assert.equal(e.code, 'MOSAIC_MESSAGE_INVALID');
  assert.deepEqual(e.details.map((d: { rule: string }) => d.rule).sort(), ['identity', 'iso8601']);
});

test('a batch stores its valid messages and names each invalid one by index', async () => {
  const r = await post('/v1/batch', {
    batch: [
      { type: 'track', userId: 'u', event: 'ok', messageId: 'mix-ok' },
      { type: 'track', userId: 'u', messageId: 'mix-bad' },
      { type: 'nope', userId: 'u' },
    ],
  });
  assert.equal(r.statusCode, 400);
  const j = r.json();
  assert.equal(j.error.code, 'MOSAIC_BATCH_PARTIALLY_INVALID');
  assert.equal(j.accepted, 1);
  assert.equal(j.rejected, 2);
  assert.deepEqual(j.error.details.map((d: { index: number; messageId?: string }) => [d.index, d.messageId]), [[1, 'mix-bad'], [2, undefined]]);
  assert.equal((await byId('mix-ok')).length, 1);
  const metrics = await m.metrics.registry.metrics();
  assert.match(metrics, /^mosaic_events_rejected_total\{reason="required"\} [1-9]/m);
  assert.match(metrics, /^mosaic_events_rejected_total\{reason="enum"\} [1-9]/m);
  assert.match(metrics, /^mosaic_requests_rejected_total\{code="MOSAIC_BATCH_PARTIALLY_INVALID"\} [1-9]/m);
});

test('the same messageId from the same source is stored once however often it is retried', async () => {
  for (let i = 0; i < 5; i++) {
    const r = await post('/v1/track', { userId: 'u', event: 'e', messageId: 'retry-1' });
    assert.equal(r.statusCode, 200);
  }
  const concurrent = await Promise.all(Array.from({ length: 10 }, () => post('/v1/batch', { batch: [{ type: 'track', userId: 'u', event: 'e', messageId: 'retry-2' }] })));
  for (const r of concurrent) assert.equal(r.statusCode, 200);
  assert.equal((await byId('retry-1')).length, 1);
  assert.equal((await byId('retry-2')).length, 1);
  const metrics = await m.metrics.registry.getSingleMetric('mosaic_events_duplicate_total')!.get();
  assert.ok(metrics.values[0]!.value >= 13);
});

test('a message without messageId gets one; skew-corrected timestamp is stored', async () => {
  const sentAt = new Date(Date.now() + 3_600_000).toISOString(); // client clock 1 h fast
  const timestamp = new Date(Date.now() + 3_600_000 - 10_000).toISOString();
  await post('/v1/track', { userId: 'skewed', event: 'e', sentAt, timestamp });
  const [stored] = (await logged()).filter((e) => e.userId === 'skewed');
  assert.match(String(stored!.messageId), /^[0-9a-f-]{36}$/);
  assert.equal(stored!.originalTimestamp, timestamp);
  const lag = Date.parse(String(stored!.receivedAt)) - Date.parse(String(stored!.timestamp));
  assert.ok(lag >= 9_000 && lag <= 11_000, `event time is ~10 s before receipt, got ${lag} ms`);
});

test('CORS: browsers may send from any origin', async () => {
  const r = await m.app.inject({ method: 'OPTIONS', url: '/v1/t', headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' } });
  assert.equal(r.statusCode, 204);
  assert.equal(r.headers['access-control-allow-origin'], 'https://shop.example');
  assert.match(String(r.headers['access-control-allow-headers']), /authorization/);
});

test('analytics.js settings and RudderStack sourceConfig point the SDKs here', async () => {
  const s = await m.app.inject({ method: 'GET', url: `/v1/projects/${WRITE_KEY}/settings`, headers: { host: 'cdp.example:8080' } });
  assert.equal(s.statusCode, 200);
  assert.equal(s.json().integrations['Segment.io'].apiHost, 'cdp.example:8080/v1');
  assert.equal((await m.app.inject({ method: 'GET', url: '/v1/projects/nope/settings' })).statusCode, 401);
  const rs = await m.app.inject({ method: 'GET', url: `/sourceConfig/?writeKey=${WRITE_KEY}` });
  assert.equal(rs.statusCode, 200);
  assert.equal(rs.json().source.writeKey, WRITE_KEY);
});

test('unknown routes answer 404 in the error format', async () => {
  const r = await post('/v2/track', {});
  assert.equal(r.statusCode, 404);
  assert.equal(r.json().error.code, 'MOSAIC_NOT_FOUND');
});
