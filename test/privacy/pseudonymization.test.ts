import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Offloader } from '../../src/lake/offload.js';
import { snapshotProfiles } from '../../src/lake/snapshot.js';
import { scanFiles } from './scan.js';
import { profileModel } from '../../src/process/profile-model.js';
import { API_TOKEN, WRITE_KEY, basic, startMosaic } from '../helpers.js';

const PII = ['ann.lee@example.io', 'ANN.LEE@EXAMPLE.IO', '+44 7700 900123', '447700900123', '203.0.113.57', 'bob@example.org'];
const PRIVACY = {
  keys: [{ id: 'k1', secret: 'test-secret-0123456789' }],
  pseudonymize: [
    { path: 'traits.email', method: 'hmac', normalize: 'email' },
    { path: 'context.traits.email', method: 'hmac', normalize: 'email' },
    { path: 'traits.phone', method: 'hmac', normalize: 'phone' },
    { path: 'context.ip', method: 'truncate' },
  ],
};

/** Every file of the data directory (the lake's Parquet read back through DuckDB): where a raw value could hide. */
const scan = (m: { config: { dataDir: string } }) => scanFiles(m.config.dataDir, PII);

async function load(overrides: Record<string, unknown>) {
  const m = await startMosaic({ ...overrides, quality: { sources: { held: 'quarantine' } } });
  const held = m.control.createSource('held').writeKey;
  const batch = [
    { type: 'identify', userId: 'ann', traits: { email: 'ann.lee@example.io', phone: '+44 7700 900123', name: 'Ann' }, context: { ip: '203.0.113.57' }, messageId: 'p1' },
    { type: 'track', anonymousId: 'tab-1', event: 'Viewed', context: { traits: { email: 'ANN.LEE@EXAMPLE.IO' }, ip: '203.0.113.57' }, messageId: 'p2' },
  ];
  assert.equal((await m.app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: basic(WRITE_KEY), 'x-forwarded-for': '203.0.113.57' }, payload: { batch } })).statusCode, 200);
  // A quarantined event holds PII too.
  assert.equal((await m.app.inject({ method: 'POST', url: `/v1/schemas/identify`, headers: { authorization: `Bearer ${API_TOKEN}` }, payload: { schema: { type: 'object', required: ['plan'] } } })).statusCode, 201);
  assert.equal((await m.app.inject({ method: 'POST', url: '/v1/identify', headers: { authorization: basic(held) }, payload: { userId: 'bob', traits: { email: 'bob@example.org' } } })).json().quarantined, 1);
  await m.processor.drain();
  await new Offloader(m.log, { lakeDir: m.config.lake.dir!, chunkEvents: 1000 }).run();
  await snapshotProfiles(m.store, profileModel(m.config), m.config.lake.dir!);
  return m;
}

test('pseudonymization: no raw value in the log, the profiles, the quarantine, the audit trail or the lake; the profile is still found by it', { timeout: 60_000 }, async () => {
  // The scan can see raw values: without pseudonymization it finds them.
  const plain = await load({});
  try {
    const hits = await scan(plain);
    assert.ok(hits.some((h) => h.includes('log.db')) && hits.some((h) => h.includes('/events/')), hits.join('\n'));
  } finally {
    await plain.cleanup();
  }

  const m = await load({ privacy: PRIVACY });
  try {
    // Same email in two cases, on two devices: one profile, through the token.
    const admin = { authorization: `Bearer ${API_TOKEN}` };
    const byEmail = await m.app.inject({ method: 'GET', url: '/v1/profiles/email:Ann.Lee@example.io', headers: admin });
    assert.equal(byEmail.statusCode, 200, byEmail.body);
    const profile = byEmail.json();
    assert.deepEqual(profile.identities.map((i: { type: string }) => i.type).sort(), ['anonymous_id', 'email', 'phone', 'user_id']);
    assert.match(profile.traits.email, /^pii:k1:/);
    assert.equal((await m.app.inject({ method: 'GET', url: '/v1/profiles/phone:+447700900123', headers: admin })).json().id, profile.id);
    const quarantined = (await m.app.inject({ method: 'GET', url: '/v1/quarantine', headers: admin })).json().events;
    assert.match(quarantined[0].event.traits.email, /^pii:k1:/);
    const logged = [];
    for (let p = 0; p < m.log.partitions; p++) logged.push(...(await m.log.read(p, 1, 100)).map((e) => JSON.parse(e.payload) as { messageId: string; context: { ip: string } }));
    assert.equal(logged.find((e) => e.messageId === 'p1')!.context.ip, '203.0.113.0');
    await new Promise((r) => setTimeout(r, 120)); // the audit trail is written every 50 ms
    assert.deepEqual(await scan(m), []);
  } finally {
    await m.cleanup();
  }
});
