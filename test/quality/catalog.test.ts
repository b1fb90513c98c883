import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Offloader } from '../../src/lake/offload.js';
import { snapshotProfiles } from '../../src/lake/snapshot.js';
import { profileModel } from '../../src/process/profile-model.js';
import { runExpectations } from '../../src/quality/run-expectations.js';
import { parseSuite } from '../../src/quality/expectations.js';
import { SqliteExpectationRuns } from '../../src/adapters/sqlite/quality-store.js';
import type { Dataset } from '../../src/quality/catalog.js';
import { API_TOKEN, WRITE_KEY, basic, startMosaic, tempDir } from '../helpers.js';

test('the catalog is read from the running system: every dataset with schema, rows, freshness, personal data and lineage', { timeout: 60_000 }, async () => {
  const t = tempDir();
  writeFileSync(join(t.dir, 'crm.csv'), 'id,email\n1,a@x.io\n');
  const m = await startMosaic({
    imports: [{ name: 'crm', source: { kind: 'csv', file: join(t.dir, 'crm.csv') }, mapping: { userId: 'id', traits: ['email'] } }],
    schedules: [{ name: 'nightly-rfm', cron: '0 3 * * *', job: { kind: 'rfm' } }],
    catalog: { owners: { 'lake:events': 'data-platform' }, defaultOwner: 'growth' },
    quality: { sources: { held: 'quarantine' } },
  });
  try {
    const held = m.control.createSource('held').writeKey;
    const batch = Array.from({ length: 30 }, (_, i) => ({ type: 'track', userId: `u${i % 3}`, event: 'Order Completed', properties: { total: i }, messageId: `c${i}` }));
    assert.equal((await m.app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: basic(WRITE_KEY) }, payload: { batch } })).statusCode, 200);
    const admin = { authorization: `Bearer ${API_TOKEN}` };
    assert.equal((await m.app.inject({ method: 'POST', url: `/v1/schemas/${encodeURIComponent('track:Signed Up')}`, headers: admin, payload: { schema: { type: 'object', required: ['plan'] } } })).statusCode, 201);
    await m.app.inject({ method: 'POST', url: '/v1/track', headers: { authorization: basic(held) }, payload: { userId: 'q', event: 'Signed Up', properties: {} } });
    await m.processor.drain();
    const lakeDir = m.config.lake.dir!;
    await new Offloader(m.log, { lakeDir, chunkEvents: 1000 }).run();
    await snapshotProfiles(m.store, profileModel(m.config), lakeDir);
    const runs = new SqliteExpectationRuns({ dir: m.config.dataDir });
    await runExpectations(lakeDir, [parseSuite('table: events\nexpectations:\n  - not_null: { column: user_id }\n', 'events_ok.yaml')], { runs });
    await runs.close();

    const res = await m.app.inject({ method: 'GET', url: '/v1/catalog', headers: admin });
    assert.equal(res.statusCode, 200);
    const datasets = res.json().datasets as Dataset[];
    const by = Object.fromEntries(datasets.map((d) => [d.id, d]));
    for (const id of ['source:default', 'source:held', 'log:events', 'lake:events', 'lake:profiles', 'lake:identities', 'lake:sessions', 'lake:audience_memberships', 'warehouse:events', 'warehouse:fact_events', 'warehouse:dim_users', 'warehouse:dim_date', 'warehouse:experiment_exposures', 'store:profiles', 'store:audience_members', 'import:crm', 'feature:rfm', 'feature:clusters', 'quarantine:events', 'registry:schemas']) {
      assert.ok(by[id], `${id} is in the catalog`);
    }
    assert.equal(by['log:events']!.rows, 30);
    assert.equal(by['log:events']!.schema!.version, 'track:Signed Up@1');
    assert.ok(by['log:events']!.lineage.from.includes('import:crm') && by['log:events']!.lineage.from.includes('source:held'));
    assert.deepEqual(by['log:events']!.personalData, ['userId', 'anonymousId', 'previousId', 'properties', 'traits', 'context']);
    assert.equal(by['lake:events']!.rows, 30);
    assert.equal(by['lake:events']!.freshness!.lagEvents, 0);
    assert.equal(by['lake:events']!.owner, 'data-platform');
    assert.equal(by['store:profiles']!.owner, 'growth');
    assert.equal(by['store:profiles']!.rows, 3);
    assert.equal(by['lake:profiles']!.rows, 3);
    assert.deepEqual(by['lake:profiles']!.lineage, { from: ['store:profiles'], by: 'snapshot (every 300 s)' });
    assert.ok(by['warehouse:fact_events']!.schema!.columns.some((c) => c.name === 'profile_id'));
    assert.deepEqual(by['warehouse:fact_events']!.lineage.from, ['lake:events', 'lake:identities']);
    assert.ok(by['warehouse:events']!.personalData.includes('user_id') && !by['warehouse:events']!.personalData.includes('message_id'));
    assert.deepEqual(by['warehouse:events']!.quality?.map((q) => [q.suite, q.status]), [['events_ok', 'pass']]);
    assert.equal(by['quarantine:events']!.description, 'events held back by the tracking plan; pending by rule: required 1');
    assert.deepEqual(by['import:crm']!.personalData, ['id', 'email']);
    assert.match(by['feature:rfm']!.lineage.by, /scheduled/);
    assert.equal((await m.app.inject({ method: 'GET', url: '/v1/catalog/lake%3Aevents', headers: admin })).json().id, 'lake:events');
    assert.equal((await m.app.inject({ method: 'GET', url: '/v1/catalog/nope', headers: admin })).statusCode, 404);
    assert.equal((await m.app.inject({ method: 'GET', url: '/v1/catalog' })).statusCode, 401);
  } finally {
    await m.cleanup();
    t.cleanup();
  }
});
