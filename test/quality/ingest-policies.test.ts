import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Mosaic } from '../../src/app.js';
import { API_TOKEN, WRITE_KEY, basic, startMosaic } from '../helpers.js';

let m: Mosaic & { cleanup: () => Promise<void> };
let strictKey: string;
let heldKey: string;
before(async () => {
  m = await startMosaic({ quality: { violations: 'allow', sources: { strict: 'reject', held: 'quarantine' } } });
  strictKey = m.control.createSource('strict').writeKey;
  heldKey = m.control.createSource('held').writeKey;
});
after(async () => m.cleanup());

const admin = { authorization: `Bearer ${API_TOKEN}` };
const send = (key: string, url: string, payload: unknown) => m.app.inject({ method: 'POST', url, payload: payload as object, headers: { authorization: basic(key) } });
const api = (method: 'GET' | 'POST', url: string, payload?: unknown) => m.app.inject({ method, url, headers: admin, ...(payload !== undefined ? { payload: payload as object } : {}) });
const ORDER = encodeURIComponent('track:Order Completed');
const V1 = { type: 'object', properties: { total: { type: 'number' }, currency: { enum: ['EUR', 'USD'] } }, required: ['total'] };

type Logged = { messageId: string; sourceId: string; context?: { violations?: unknown } };
async function logged(): Promise<Logged[]> {
  const out: Logged[] = [];
  for (let p = 0; p < m.log.partitions; p++) for (const e of await m.log.read(p, 1, 1e6)) out.push(JSON.parse(e.payload) as Logged);
  return out;
}
const order = (id: string, userId: string, properties: Record<string, unknown>) => ({ type: 'track', event: 'Order Completed', messageId: id, userId, properties });

test('a schema is registered through the admin API and read back', async () => {
  assert.equal((await api('POST', `/v1/schemas/${ORDER}`, { schema: V1 })).statusCode, 201);
  assert.equal((await api('POST', `/v1/schemas/${ORDER}`, { schema: V1 })).statusCode, 200, 'the same schema again is not a new version');
  const got = (await api('GET', `/v1/schemas/${ORDER}`)).json();
  assert.equal(got.subject, 'track:Order Completed');
  assert.deepEqual(got.latest.schema, V1);
  assert.deepEqual((await api('GET', '/v1/schemas')).json().schemas.map((s: { subject: string; version: number }) => [s.subject, s.version]), [['track:Order Completed', 1]]);
  assert.equal((await api('GET', `/v1/schemas/${ORDER}/versions/9`)).json().error.code, 'MOSAIC_SCHEMA_NOT_FOUND');
  assert.equal((await api('POST', '/v1/schemas/click%3AX', { schema: {} })).json().error.code, 'MOSAIC_SCHEMA_SUBJECT_INVALID');
  assert.equal((await api('POST', `/v1/schemas/${ORDER}`, { schema: { type: 'objekt' } })).json().error.code, 'MOSAIC_SCHEMA_INVALID');
  assert.equal((await m.app.inject({ method: 'GET', url: '/v1/schemas' })).statusCode, 401, 'behind the admin token');
});

test('allow: the event is stored, tagged with its violations', async () => {
  const r = await send(WRITE_KEY, '/v1/batch', { batch: [order('allow-1', 'ann', { total: 'ten' })] });
  assert.equal(r.statusCode, 200);
  const [stored] = (await logged()).filter((e) => e.messageId === 'allow-1');
  assert.deepEqual(stored!.context?.violations, [{ path: '/properties/total', rule: 'type', message: '/properties/total must be number', value: 'ten', schema: 'track:Order Completed@1' }]);
  const ok = (await logged()).length;
  await send(WRITE_KEY, '/v1/track', order('allow-2', 'ann', { total: 10 }));
  assert.equal((await logged()).find((e) => e.messageId === 'allow-2')!.context?.violations, undefined);
  assert.equal((await logged()).length, ok + 1);
});

test('reject: 400 lists each violation with path, rule and value; the valid events of a batch are stored', async () => {
  const single = await send(strictKey, '/v1/track', order('rej-1', 'bob', { currency: 'GBP' }));
  assert.equal(single.statusCode, 400);
  const body = single.json();
  assert.equal(body.error.code, 'MOSAIC_PLAN_VIOLATION');
  assert.deepEqual(body.error.details.map((d: { path: string; rule: string; value?: unknown }) => [d.path, d.rule, d.value]).sort(), [['/properties/currency', 'enum', 'GBP'], ['/properties/total', 'required', undefined]]);
  const batch = await send(strictKey, '/v1/batch', { batch: [order('rej-2', 'bob', { total: 1 }), order('rej-3', 'bob', { total: -1, currency: 'XXX' })] });
  assert.equal(batch.statusCode, 400);
  assert.equal(batch.json().error.code, 'MOSAIC_BATCH_PARTIALLY_INVALID');
  assert.deepEqual(batch.json().error.details.map((d: { index: number; messageId: string; rule: string }) => [d.index, d.messageId, d.rule]), [[1, 'rej-3', 'enum']]);
  const ids = (await logged()).map((e) => e.messageId);
  assert.ok(ids.includes('rej-2'));
  assert.ok(!ids.includes('rej-1') && !ids.includes('rej-3'));
});

test('quarantine: 200, nothing in the log, the message kept whole with every reason; replay after the plan is fixed', async () => {
  const r = await send(heldKey, '/v1/batch', { batch: [order('q-1', 'cat', { total: '12.50' }), order('q-2', 'cat', { total: 3 }), order('q-3', 'cat', { total: 'n/a', currency: 'GBP' })] });
  assert.equal(r.statusCode, 200);
  assert.deepEqual(r.json(), { success: true, quarantined: 2 });
  const ids = (await logged()).map((e) => e.messageId);
  assert.ok(ids.includes('q-2') && !ids.includes('q-1') && !ids.includes('q-3'));
  const list = (await api('GET', '/v1/quarantine')).json();
  assert.deepEqual(list.events.map((e: { messageId: string }) => e.messageId), ['q-1', 'q-3']);
  assert.deepEqual(list.pendingByRule, { type: 2, enum: 1 });
  const first = list.events[0];
  assert.equal(first.subject, 'track:Order Completed');
  assert.deepEqual(first.event, order('q-1', 'cat', { total: '12.50' }));
  assert.equal(first.violations[0].value, '12.50');
  assert.equal((await api('GET', `/v1/quarantine/${first.id}`)).json().messageId, 'q-1');
  assert.equal((await api('GET', '/v1/quarantine/999999')).json().error.code, 'MOSAIC_QUARANTINE_NOT_FOUND');
  const metrics = (await m.app.inject({ method: 'GET', url: '/metrics' })).body;
  assert.match(metrics, /mosaic_plan_violations_total\{rule="type",policy="quarantine"\} 2/);
  assert.match(metrics, /mosaic_events_quarantined_total 2/);
  assert.match(metrics, /mosaic_quarantine_pending\{rule="type"\} 2/);

  // A breaking version is refused with its diff; the check endpoint shows the same.
  const tightened = { ...V1, required: ['total', 'currency'] };
  const refused = await api('POST', `/v1/schemas/${ORDER}`, { schema: tightened });
  assert.equal(refused.statusCode, 409);
  assert.equal(refused.json().error.code, 'MOSAIC_SCHEMA_INCOMPATIBLE');
  assert.deepEqual(refused.json().error.details, [{ path: '/currency', rule: 'backward', message: '/currency: now required (breaks backward)' }]);
  assert.equal((await api('POST', `/v1/schemas/${ORDER}/check`, { schema: tightened })).json().compatible, false);

  // Replaying before the fix changes nothing.
  const early = (await api('POST', '/v1/quarantine/replay', { all: true })).json();
  assert.deepEqual([early.replayed, early.failing], [0, 2]);

  // The fix: totals may be sent as strings (a loosening: backward compatible).
  const fixed = { ...V1, properties: { ...V1.properties, total: { type: ['number', 'string'] } } };
  const v2 = await api('POST', `/v1/schemas/${ORDER}`, { schema: fixed });
  assert.equal(v2.statusCode, 201, v2.body);
  assert.equal(v2.json().version, 2);
  const replay = (await api('POST', '/v1/quarantine/replay', { all: true })).json();
  assert.deepEqual([replay.replayed, replay.failing], [1, 1]);
  assert.deepEqual(replay.failures[0].violations.map((v: { rule: string; schema: string }) => `${v.rule} ${v.schema}`), ['enum track:Order Completed@2'], 'the reasons are the new plan\'s');
  const still = (await api('GET', '/v1/quarantine')).json().events;
  assert.deepEqual(still.map((e: { messageId: string; violations: { rule: string }[] }) => [e.messageId, e.violations[0]!.rule]), [['q-3', 'enum']]);

  // The data fix: one event replayed with a corrected message.
  const byHand = (await api('POST', `/v1/quarantine/${still[0].id}/replay`, { payload: order('q-3', 'cat', { total: 4 }) })).json();
  assert.equal(byHand.status, 'replayed');
  assert.deepEqual((await api('GET', '/v1/quarantine')).json().events, []);
  const replayed = (await logged()).filter((e) => e.messageId === 'q-1' || e.messageId === 'q-3');
  assert.equal(replayed.length, 2);
  assert.equal(replayed.find((e) => e.messageId === 'q-1')!.sourceId, m.control.sourceByWriteKey(heldKey)!.id);

  // They reach the profile like any event.
  await m.processor.drain();
  const profile = (await api('GET', '/v1/profiles/user_id:cat')).json();
  assert.deepEqual([profile.eventCount, profile.eventCounts['Order Completed']], [3, 3], 'q-2 at ingest, q-1 and q-3 replayed');
  // Replaying again sends nothing twice.
  assert.deepEqual((await api('POST', '/v1/quarantine/replay', { all: true })).json().replayed, 0);
  assert.equal((await logged()).filter((e) => e.messageId === 'q-1').length, 1);
});
