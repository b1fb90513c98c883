import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Mosaic } from '../../src/app.js';
import { API_TOKEN, WRITE_KEY, basic, startMosaic } from '../helpers.js';

let m: Mosaic & { cleanup: () => Promise<void> };
before(async () => {
  m = await startMosaic({ processor: { enabled: false } });
  const headers = { authorization: basic(WRITE_KEY), 'content-type': 'application/json' };
  const batch = [
    { type: 'page', anonymousId: 'anon-1', timestamp: '2026-11-01T10:00:00.000Z' },
    { type: 'identify', anonymousId: 'anon-1', userId: '42', traits: { email: 'ada@example.com', plan: 'pro' }, timestamp: '2026-11-01T10:01:00.000Z' },
    { type: 'track', userId: '42', event: 'Order Completed', timestamp: '2026-11-02T10:00:00.000Z', context: { ip: '8.8.8.8', userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:132.0) Gecko/20100101 Firefox/132.0' } },
  ];
  const r = await m.app.inject({ method: 'POST', url: '/v1/import', payload: { batch }, headers });
  assert.equal(r.statusCode, 200);
  await m.processor.drain();
});
after(async () => m.cleanup());

const bearer = { authorization: `Bearer ${API_TOKEN}` };

test('GET /v1/profiles/{idType}:{id} returns the unified profile by any of its identities', async () => {
  const r = await m.app.inject({ method: 'GET', url: '/v1/profiles/user_id:42', headers: bearer });
  assert.equal(r.statusCode, 200, r.body);
  const p = r.json();
  assert.match(p.id, /^p_/);
  assert.deepEqual(p.identities.map((i: { type: string }) => i.type), ['user_id', 'email', 'anonymous_id']);
  assert.deepEqual(p.identities[0], { type: 'user_id', id: '42' });
  assert.ok(!p.identities[1].id.includes('ada'), 'the email node is pseudonymized');
  assert.deepEqual(p.traits, { email: 'ada@example.com', plan: 'pro' });
  assert.equal(p.firstSeen, '2026-11-01T10:00:00.000Z');
  assert.equal(p.lastSeen, '2026-11-02T10:00:00.000Z');
  assert.equal(p.eventCount, 3);
  assert.deepEqual(p.eventCounts, { 'Order Completed': 1 });
  // Enrichment: the last known browser, OS, device and country.
  assert.deepEqual(p.context, { browser: 'Firefox', browserVersion: '132.0', country: 'US', deviceType: 'desktop', deviceVendor: 'Apple', os: 'Mac OS', osVersion: '14.5' });
  const byAnon = await m.app.inject({ method: 'GET', url: '/v1/profiles/anonymous_id:anon-1', headers: bearer });
  assert.deepEqual(byAnon.json(), p);
  const encoded = await m.app.inject({ method: 'GET', url: '/v1/profiles/user_id%3A42', headers: bearer });
  assert.equal(encoded.statusCode, 200);
  // By email as a person writes it: normalized and pseudonymized the same way as at ingest.
  const byEmail = await m.app.inject({ method: 'GET', url: '/v1/profiles/email:%20Ada@Example.COM', headers: bearer });
  assert.equal(byEmail.json().id, p.id);
});

test('GET /v1/profiles/{ref}/merges shows which identifiers were joined, when and by which event', async () => {
  const r = await m.app.inject({ method: 'GET', url: '/v1/profiles/anonymous_id:anon-1/merges', headers: bearer });
  assert.equal(r.statusCode, 200, r.body);
  const body = r.json();
  const merges = body.merges.filter((x: { kind: string }) => x.kind === 'merge');
  assert.equal(merges.length, 1, r.body);
  assert.equal(merges[0].at, '2026-11-01T10:01:00.000Z');
  assert.match(merges[0].messageId, /.+/);
  assert.deepEqual(merges[0].identities.map((i: { type: string }) => i.type), ['user_id', 'email', 'anonymous_id']);
  assert.equal(merges[0].profiles.length, 2, 'the anonymous visitor and the new email joined user 42');
});

test('GET /v1/profiles/{ref}/events returns the newest events first, from the log', async () => {
  const r = await m.app.inject({ method: 'GET', url: '/v1/profiles/anonymous_id:anon-1/events?limit=2', headers: bearer });
  assert.equal(r.statusCode, 200, r.body);
  const body = r.json();
  assert.deepEqual(body.events.map((e: { type: string; timestamp: string }) => [e.type, e.timestamp]), [
    ['track', '2026-11-02T10:00:00.000Z'],
    ['identify', '2026-11-01T10:01:00.000Z'],
  ]);
  assert.equal(body.indexed, 20);
  const all = await m.app.inject({ method: 'GET', url: '/v1/profiles/user_id:42/events', headers: bearer });
  assert.equal(all.json().events.length, 3);
  const bad = await m.app.inject({ method: 'GET', url: '/v1/profiles/user_id:42/events?limit=0', headers: bearer });
  assert.equal(bad.statusCode, 400);
  const none = await m.app.inject({ method: 'GET', url: '/v1/profiles/user_id:42/events' });
  assert.equal(none.statusCode, 401);
});

test('an unknown identifier type is a 400 that lists the configured ones', async () => {
  const r = await m.app.inject({ method: 'GET', url: '/v1/profiles/crm:7', headers: bearer });
  assert.equal(r.statusCode, 400);
  assert.equal(r.json().error.code, 'MOSAIC_IDENTITY_INVALID');
  assert.match(r.body, /user_id, email, phone, device_id, anonymous_id/);
});

test('the profile API sends no CORS headers: it is not for browsers', async () => {
  const r = await m.app.inject({ method: 'GET', url: '/v1/profiles/user_id:42', headers: { ...bearer, origin: 'https://evil.example' } });
  assert.equal(r.statusCode, 200);
  assert.equal(r.headers['access-control-allow-origin'], undefined);
  const pre = await m.app.inject({ method: 'OPTIONS', url: '/v1/profiles/user_id:42', headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } });
  assert.equal(pre.headers['access-control-allow-origin'], undefined);
});

test('the token also works as the Basic user name, as Segment Profile API clients send it', async () => {
  const r = await m.app.inject({ method: 'GET', url: '/v1/spaces/sp1/collections/users/profiles/user_id:42/traits', headers: { authorization: basic(API_TOKEN) } });
  assert.equal(r.statusCode, 200);
  assert.deepEqual(r.json().traits, { email: 'ada@example.com', plan: 'pro' });
});

test('no token, a bad token, or a write key: 401', async () => {
  const none = await m.app.inject({ method: 'GET', url: '/v1/profiles/user_id:42' });
  assert.equal(none.statusCode, 401);
  assert.equal(none.json().error.code, 'MOSAIC_AUTH_TOKEN_MISSING');
  const bad = await m.app.inject({ method: 'GET', url: '/v1/profiles/user_id:42', headers: { authorization: 'Bearer nope' } });
  assert.equal(bad.json().error.code, 'MOSAIC_AUTH_TOKEN_INVALID');
  const wk = await m.app.inject({ method: 'GET', url: '/v1/profiles/user_id:42', headers: { authorization: basic(WRITE_KEY) } });
  assert.equal(wk.statusCode, 401);
  const wkBearer = await m.app.inject({ method: 'GET', url: '/v1/profiles/user_id:42', headers: { authorization: `Bearer ${WRITE_KEY}` } });
  assert.equal(wkBearer.statusCode, 401);
});

test('unknown identity is 404, a malformed one is 400', async () => {
  const r = await m.app.inject({ method: 'GET', url: '/v1/profiles/user_id:nobody', headers: bearer });
  assert.equal(r.statusCode, 404);
  assert.equal(r.json().error.code, 'MOSAIC_PROFILE_NOT_FOUND');
  const bad = await m.app.inject({ method: 'GET', url: '/v1/profiles/justanid', headers: bearer });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().error.code, 'MOSAIC_IDENTITY_INVALID');
  const alias = await m.app.inject({ method: 'GET', url: '/v1/profiles/alias:anon-1', headers: bearer });
  assert.equal(alias.statusCode, 400, 'internal alias nodes are not addressable');
});

test('every read of a profile writes an audit entry', async () => {
  await m.app.inject({ method: 'GET', url: '/v1/profiles/user_id:42', headers: bearer });
  await new Promise((r) => setImmediate(r));
  const entries = m.control.auditFor('user_id:42');
  assert.ok(entries.length >= 1);
  assert.equal(entries[0]!.actor, 'env');
  assert.equal(entries[0]!.action, 'profile.read');
  assert.equal(entries[0]!.status, 200);
});

test('health reports readiness and lag; metrics are Prometheus text', async () => {
  const h = await m.app.inject({ method: 'GET', url: '/health' });
  assert.equal(h.statusCode, 200);
  assert.equal(h.json().ready, true);
  assert.equal(h.json().processor.lagEvents, 0);
  const ready = await m.app.inject({ method: 'GET', url: '/health/ready' });
  assert.equal(ready.statusCode, 200);
  const metrics = await m.app.inject({ method: 'GET', url: '/metrics' });
  assert.match(metrics.headers['content-type'] as string, /text\/plain/);
  for (const name of ['mosaic_events_accepted_total', 'mosaic_log_append_seconds_bucket', 'mosaic_processor_lag_events', 'mosaic_processor_lag_seconds', 'mosaic_event_to_profile_seconds_bucket', 'mosaic_http_requests_total']) {
    assert.match(metrics.body, new RegExp(`^${name}`, 'm'), name);
  }
});
