import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { openDuckDb, sqlString } from '../../src/adapters/duckdb/duckdb.js';
import { openProfileStore } from '../../src/adapters/from-config.js';
import { runReplay } from '../../src/cli/replay.js';
import type { Envelope } from '../../src/core/envelope.js';
import { assembleProfile, toPublicProfile } from '../../src/core/profile.js';
import { runImport } from '../../src/lake/imports/run-import.js';
import { Offloader } from '../../src/lake/offload.js';
import { configuredLakeAdmission } from '../../src/privacy/consent-gate.js';
import { identityRules } from '../../src/process/profile-model.js';
import { WRITE_KEY, basic, startMosaic, tempDir } from '../helpers.js';

const consent = (prefs: Record<string, boolean>) => ({ consent: { categoryPreferences: prefs } });

/**
 * Each purpose on each path an event can take in: live (the tracking API), an import (which
 * sends through the same API) and a replay (profiles rebuilt from the log).
 *   ann: no analytics, no marketing — not in the lake, nothing sent to the destination;
 *   cara: no personalization — in no audience;
 *   bob: nothing recorded — the default (granted) for everything.
 */
test('consent is enforced for every purpose on the live, import and replay paths, and a change applies from the next event', { timeout: 120_000 }, async () => {
  const received: Envelope[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push(...(JSON.parse(body) as { batch: Envelope[] }).batch);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const tmp = tempDir();
  const m = await startMosaic({
    processor: { enabled: false },
    lake: { offloadIntervalSeconds: 0 },
    audiences: [{ name: 'pros', rule: { trait: 'plan', op: 'eq', value: 'pro' } }],
    destinations: [{ name: 'crm', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, allowPrivateNetworks: true, forward: { audiences: true, events: { names: ['Order Completed'] } } }],
  });
  let closed = false;
  try {
    await m.app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(m.app.server.address() as AddressInfo).port}`;
    const lakeDir = m.config.lake.dir!;
    const offloader = new Offloader(m.log, { lakeDir, chunkEvents: 1000, admission: configuredLakeAdmission(m.config, m.store, await identityRules(m.config, m.store), m.metrics) });
    const send = async (batch: object[]) => assert.equal((await m.app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: basic(WRITE_KEY) }, payload: { batch } })).statusCode, 200);
    /** Processes, delivers and offloads what was sent. */
    const settle = async () => {
      await m.processor.drain();
      while ((await m.deliverers[0]!.deliverOnce()) > 0);
      await offloader.run();
    };
    const delivered = () => received.map((e) => `${e.userId} ${e.event}`).sort();
    const inLake = async () => {
      const duck = await openDuckDb();
      try {
        const rows = (await duck.connection.runAndReadAll(`SELECT coalesce(user_id, '-') AS u, coalesce(event, type) AS e FROM read_parquet(${sqlString(join(lakeDir, 'events/**/*.parquet'))}) ORDER BY ALL`)).getRowObjectsJson();
        return rows.map((r) => `${String(r.u)} ${String(r.e)}`);
      } finally {
        duck.close();
      }
    };

    // Live.
    await send([
      { type: 'identify', userId: 'ann', traits: { plan: 'pro' }, context: consent({ analytics: false, marketing: false }), messageId: 'l1' },
      { type: 'identify', userId: 'bob', traits: { plan: 'pro' }, messageId: 'l2' },
      { type: 'identify', userId: 'cara', traits: { plan: 'pro' }, context: consent({ personalization: false }), messageId: 'l3' },
    ]);
    await send(['ann', 'bob', 'cara'].map((u) => ({ type: 'track', userId: u, event: 'Order Completed', messageId: `l-${u}` })));
    await settle();
    assert.deepEqual(delivered(), ['bob Audience Entered', 'bob Order Completed', 'cara Order Completed'], 'marketing: nothing of ann; personalization: cara in no audience');
    const members = async (store = m.store) => {
      const ids = new Set((await store.audienceMembers('pros', undefined, 10)).members.map((x) => x.profileId));
      const out: string[] = [];
      for (const u of ['ann', 'bob', 'cara']) if (ids.has((await store.findCluster(`user_id:${u}`))!.id)) out.push(u);
      return out;
    };
    assert.deepEqual(await members(), ['ann', 'bob'], 'ann is in the audience (only marketing was refused), though its change was not sent');
    assert.deepEqual(await inLake(), ['bob Audience Entered', 'bob Order Completed', 'bob identify', 'cara Order Completed', 'cara identify'], 'analytics: nothing of ann in the lake, not even her audience change');
    const metrics = (await m.app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /^mosaic_events_without_consent_total\{purpose="marketing",action="dropped"\} 2$/m);
    assert.match(metrics, /^mosaic_events_without_consent_total\{purpose="analytics",action="dropped"\} 3$/m);

    // An import: its rows carry no consent; the profile's decides.
    const file = join(tmp.dir, 'orders.csv');
    writeFileSync(file, 'id,user,total\no1,ann,10\no2,bob,20\no3,cara,30\n');
    const summary = await runImport(
      { name: 'orders', source: { kind: 'csv', file }, mapping: { type: 'track', event: 'Order Completed', userId: 'user', properties: ['total'], key: ['id'] } },
      { url, writeKey: WRITE_KEY, stateDir: join(tmp.dir, 'state') },
    );
    assert.equal(summary.accepted, 3);
    received.length = 0;
    await settle();
    assert.deepEqual(delivered(), ['bob Order Completed', 'cara Order Completed']);
    assert.equal((await inLake()).filter((r) => r.startsWith('ann')).length, 0);
    assert.equal((await inLake()).length, 7);

    // Ann changes her mind through the consent API: her next events count, the earlier ones stay out.
    const res = await m.app.inject({ method: 'POST', url: '/v1/consent', headers: { authorization: basic(WRITE_KEY) }, payload: { userId: 'ann', categoryPreferences: { analytics: true, marketing: true } } });
    assert.equal(res.statusCode, 200, res.body);
    await send([{ type: 'track', userId: 'ann', event: 'Order Completed', messageId: 'after' }]);
    received.length = 0;
    await settle();
    assert.deepEqual(delivered(), ['ann Order Completed']);
    assert.deepEqual((await inLake()).filter((r) => r.startsWith('ann')), ['ann Order Completed', 'ann Segment Consent Preference Updated']);

    // Replay: profiles rebuilt from the log hold the same consent, and cara is still in no audience.
    await m.close();
    closed = true;
    await runReplay(m.config);
    const store = await openProfileStore(m.config);
    try {
      assert.deepEqual(await members(store), ['ann', 'bob'], 'cara: no personalization, no audience');
      const cara = (await store.findCluster('user_id:cara'))!;
      const doc = toPublicProfile(assembleProfile(cara, (await store.getParts(cara.members)).values()));
      assert.equal(doc.consent.personalization?.granted, false);
    } finally {
      await store.close();
    }
  } finally {
    if (closed) rmSync(m.config.dataDir, { recursive: true, force: true });
    else await m.cleanup();
    tmp.cleanup();
    server.close();
  }
});
