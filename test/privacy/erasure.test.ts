import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalProfileId } from '../../src/core/identity.js';
import { Pseudonymizer, type PseudonymizeRule } from '../../src/core/pseudonymize.js';
import { Offloader } from '../../src/lake/offload.js';
import { snapshotProfiles } from '../../src/lake/snapshot.js';
import { profileModel } from '../../src/process/profile-model.js';
import { API_TOKEN, WRITE_KEY, basic, startMosaic } from '../helpers.js';
import { scanFiles } from './scan.js';

const RULES: PseudonymizeRule[] = [
  { path: 'traits.email', method: 'hmac', normalize: 'email' },
  { path: 'context.traits.email', method: 'hmac', normalize: 'email' },
  { path: 'traits.phone', method: 'hmac', normalize: 'phone' },
];
const KEYS = [{ id: 'k1', secret: 'test-secret-0123456789' }];
const p = new Pseudonymizer(RULES, KEYS);

const ERIN = { userId: 'u-erase-7731', anonymousId: 'anon-erase-5521', email: 'erin.erase@example.io', phone: '+44 7700 900777' };
const NEEDLES = [ERIN.userId, ERIN.anonymousId, ERIN.email, '447700900777', p.token(ERIN.email, 'email'), p.token(ERIN.phone, 'phone'), canonicalProfileId(`user_id:${ERIN.userId}`)];
const admin = { authorization: `Bearer ${API_TOKEN}` };

function events(who: { userId: string; anonymousId: string; email: string; phone: string }, tag: string) {
  return [
    { type: 'track', anonymousId: who.anonymousId, event: 'Product Viewed', properties: { sku: 'S1' }, messageId: `${tag}-1` },
    { type: 'identify', anonymousId: who.anonymousId, userId: who.userId, traits: { email: who.email, phone: who.phone, plan: 'pro' }, messageId: `${tag}-2` },
    { type: 'track', userId: who.userId, event: 'Order Completed', properties: { total: 42 }, messageId: `${tag}-3` },
  ];
}

test('erasure: a person seeded in every store is gone from every byte of every file; a re-import does not bring them back; others stay', { timeout: 120_000 }, async () => {
  const m = await startMosaic({
    privacy: { keys: KEYS, pseudonymize: RULES, vault: { enabled: true, keys: [{ id: 'v1', secret: 'a-vault-secret-of-at-least-32-chars!' }] } },
    quality: { sources: { held: 'quarantine' } },
    audiences: [{ name: 'pros', rule: { trait: 'plan', op: 'eq', value: 'pro' } }],
    // A destination that cannot be reached: its failed events wait in the dead-letter list.
    destinations: [{ name: 'crm', url: 'http://127.0.0.1:9/hook', secret: 'a-secret-of-16-chars', allowPrivateNetworks: true, maxAttempts: 1, backoffMs: 1, forward: { events: { names: ['Order Completed'] } } }],
  });
  try {
    const send = async (batch: unknown[], key = WRITE_KEY) => {
      const res = await m.app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: basic(key) }, payload: { batch } });
      assert.equal(res.statusCode, 200, res.body);
    };
    await send(events(ERIN, 'erin'));
    await send(events({ userId: 'u-keep-1', anonymousId: 'anon-keep-1', email: 'kim.keep@example.io', phone: '+44 7700 900111' }, 'kim'));
    // A quarantined event, consent through the API (once her events were sent: with marketing refused, the destination would skip them), a profile read (audited).
    assert.equal((await m.app.inject({ method: 'POST', url: '/v1/schemas/identify', headers: admin, payload: { schema: { type: 'object', required: ['company'] } } })).statusCode, 201);
    const held = m.control.createSource('held').writeKey;
    assert.equal((await m.app.inject({ method: 'POST', url: '/v1/identify', headers: { authorization: basic(held) }, payload: { userId: ERIN.userId, traits: { email: ERIN.email } } })).json().quarantined, 1);
    await m.processor.drain();
    for (let i = 0; i < 5 && (await m.store.deadLetters(0, 10)).length === 0; i++) await m.deliverers[0]!.deliverOnce();
    assert.ok((await m.store.deadLetters(0, 10)).length > 0, 'a destination dead letter holds an event');
    assert.equal((await m.app.inject({ method: 'POST', url: '/v1/consent', headers: { authorization: basic(WRITE_KEY) }, payload: { userId: ERIN.userId, categoryPreferences: { marketing: false } } })).statusCode, 200);
    await m.processor.drain();
    assert.equal((await m.app.inject({ method: 'GET', url: `/v1/profiles/email:${ERIN.email}`, headers: admin })).statusCode, 200);
    await new Offloader(m.log, { lakeDir: m.config.lake.dir!, chunkEvents: 1000 }).run();
    await snapshotProfiles(m.store, profileModel(m.config), m.config.lake.dir!);

    // The scan sees the person everywhere before.
    const before = await scanFiles(m.config.dataDir, NEEDLES);
    for (const where of ['log.db', 'profiles.db', 'quality.db', 'privacy.db', 'control.db', 'vault.db', 'events/', 'profiles/']) assert.ok(before.some((h) => h.includes(where)), `seeded in ${where}:\n${before.join('\n')}`);

    // The export has it all.
    const exported = await m.app.inject({ method: 'POST', url: '/v1/privacy/exports', headers: admin, payload: { subject: `email:${ERIN.email}` } });
    assert.equal(exported.statusCode, 200, exported.body);
    const x = exported.json();
    assert.equal(x.request.status, 'completed');
    assert.equal(x.summary.logEvents, 5, 'three events, the consent event, an audience event');
    assert.ok(x.summary.lakeEvents >= 4 && x.summary.consentEntries === 1 && x.summary.quarantined === 1 && x.summary.auditEntries >= 1, JSON.stringify(x.summary));
    assert.deepEqual(x.profile.consent.marketing.granted, false);
    assert.deepEqual((x.vault as { value: string }[]).map((v) => v.value).sort(), [ERIN.email, ERIN.phone].sort(), 'her own values, from the vault');

    const asked = await m.app.inject({ method: 'POST', url: '/v1/privacy/erasures', headers: admin, payload: { subject: `user_id:${ERIN.userId}` } });
    assert.equal(asked.statusCode, 202, asked.body);
    const id = asked.json().request.id as string;
    assert.ok(asked.json().request.confirmBy && asked.json().request.dueBy);
    let request: { status: string; summary?: Record<string, unknown>; subject?: string } = { status: 'received' };
    for (let i = 0; i < 200 && !['completed', 'failed'].includes(request.status); i++) {
      await new Promise((r) => setTimeout(r, 50));
      request = (await m.app.inject({ method: 'GET', url: `/v1/privacy/requests/${id}`, headers: admin })).json().request;
    }
    assert.equal(request.status, 'completed', JSON.stringify(request));
    assert.equal(request.subject, undefined, 'a finished erasure does not keep whom it erased');
    assert.equal(request.summary!.profiles, 1);
    assert.equal(request.summary!.logEvents, 5);
    assert.equal(request.summary!.quarantine, 1);
    assert.equal(request.summary!.deadLetters, 2, 'her Order Completed and her Audience Entered');
    assert.equal(request.summary!.vaultEntries, 2);

    // Re-import: accepted, dropped.
    await send(events(ERIN, 'erin-again'));
    await send([{ type: 'track', userId: ERIN.userId, event: 'Order Completed', messageId: 'erin-new' }]);
    await m.processor.drain();
    await new Offloader(m.log, { lakeDir: m.config.lake.dir!, chunkEvents: 1000 }).run();
    assert.equal((await m.app.inject({ method: 'GET', url: `/v1/profiles/user_id:${ERIN.userId}`, headers: admin })).statusCode, 404);

    const after = await scanFiles(m.config.dataDir, NEEDLES);
    assert.deepEqual(after, [], after.join('\n'));
    // Nobody else was touched.
    const kim = await m.app.inject({ method: 'GET', url: '/v1/profiles/user_id:u-keep-1', headers: admin });
    assert.equal(kim.statusCode, 200);
    assert.equal(kim.json().eventCount, 3);
    assert.deepEqual(Object.fromEntries(await m.store.audienceCounts()), { pros: 1 });
    const audit = (await m.app.inject({ method: 'GET', url: `/v1/audit?subject=erased:${id}`, headers: admin })).json();
    assert.ok(audit.entries.length >= 1, 'the reads stay in the trail, under the request id');
  } finally {
    await m.cleanup();
  }
});
