import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AUDIENCE_SOURCE_ID } from '../../src/core/audiences.js';
import { Offloader } from '../../src/lake/offload.js';
import { snapshotProfiles } from '../../src/lake/snapshot.js';
import { Warehouse } from '../../src/lake/warehouse.js';
import { profileModel } from '../../src/process/profile-model.js';
import { WRITE_KEY, basic, startMosaic, tempDir } from '../helpers.js';

const MODEL = {
  computedTraits: [{ name: 'orders', op: 'count', event: 'Order Completed' }],
  audiences: [{ name: 'buyers', rule: { computed: 'orders', op: 'gte', value: 1 } }],
};

test('warehouse: profiles, identities, sessions and audience memberships from the snapshot; the star schema joins them to the events', async () => {
  const m = await startMosaic(MODEL);
  try {
    const at = (day: number, minute: number) => new Date(Date.UTC(2026, 10, day, 10, minute)).toISOString();
    const batch = [
      { type: 'page', anonymousId: 'anon-1', name: 'Home', timestamp: at(1, 0), messageId: 'w1' },
      { type: 'page', anonymousId: 'anon-1', name: 'Pricing', timestamp: at(1, 5), messageId: 'w2' },
      { type: 'identify', anonymousId: 'anon-1', userId: 'u1', traits: { plan: 'pro' }, timestamp: at(2, 0), messageId: 'w3' },
      { type: 'track', userId: 'u1', event: 'Order Completed', properties: { price: 30 }, timestamp: at(3, 0), messageId: 'w4' },
      { type: 'page', anonymousId: 'anon-2', name: 'Home', timestamp: at(3, 1), messageId: 'w5' },
    ];
    assert.equal((await m.app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: basic(WRITE_KEY) }, payload: { batch } })).statusCode, 200);
    await m.processor.drain();
    const lakeDir = m.config.lake.dir!;
    await new Offloader(m.log, { lakeDir, chunkEvents: 100 }).run();
    assert.deepEqual(await snapshotProfiles(m.store, profileModel(m.config), lakeDir), { profiles: 2 });

    const w = await Warehouse.open(lakeDir);
    try {
      const q = async (sql: string) => (await w.query(sql)).rows;
      const u1 = ((await q("SELECT profile_id FROM identities WHERE type = 'user_id' AND id = 'u1'"))[0]![0]) as string;
      assert.deepEqual(await q(`SELECT type, id FROM identities WHERE profile_id = '${u1}' ORDER BY type`), [['anonymous_id', 'anon-1'], ['user_id', 'u1']]);
      assert.deepEqual(await q(`SELECT event_count::INTEGER, traits->>'plan', (computed_traits->>'orders')::INTEGER, session_count FROM profiles WHERE profile_id = '${u1}'`), [[4, 'pro', 1, 3]]);
      assert.deepEqual(await q('SELECT audience, profile_id FROM audience_memberships'), [['buyers', u1]]);
      assert.deepEqual(await q(`SELECT count(*)::INTEGER, sum(events)::INTEGER FROM sessions WHERE profile_id = '${u1}'`), [[3, 4]]);
      // Star schema: every event belongs to a profile, as many as each profile counted (the
      // lake also holds Mosaic's own audience events, which profiles do not count).
      assert.deepEqual(await q('SELECT count(*)::INTEGER FROM fact_events WHERE profile_id IS NULL'), [[0]]);
      assert.deepEqual(await q(`SELECT count(*)::INTEGER FROM fact_events WHERE source_id = '${AUDIENCE_SOURCE_ID}' AND event = 'Audience Entered'`), [[1]]);
      const counted = await q(`SELECT f.profile_id, count(*)::INTEGER = any_value(d.event_count) FROM fact_events f JOIN dim_users d USING (profile_id) WHERE f.source_id <> '${AUDIENCE_SOURCE_ID}' GROUP BY ALL`);
      assert.deepEqual(counted.map(([, same]) => same), [true, true]);
      assert.deepEqual(await q(`SELECT user_id FROM dim_users WHERE profile_id = '${u1}'`), [['u1']]);
      assert.deepEqual(await q("SELECT strftime(date_key, '%Y-%m-%d'), weekend FROM dim_date ORDER BY 1 LIMIT 3"), [['2026-11-01', true], ['2026-11-02', false], ['2026-11-03', false]]);
      // Every day from the first event to the last (the audience event is dated today).
      assert.deepEqual(await q('SELECT (SELECT count(*) FROM dim_date) = (SELECT max(event_date) - min(event_date) + 1 FROM events)'), [[true]]);
    } finally {
      w.close();
    }
  } finally {
    await m.cleanup();
  }
});

test('warehouse: before any offload or snapshot every view exists, with its columns, and is empty', async () => {
  const { dir, cleanup } = tempDir();
  const w = await Warehouse.open(dir);
  try {
    for (const view of ['events', 'profiles', 'identities', 'sessions', 'audience_memberships', 'fact_events', 'dim_users', 'dim_date', 'experiment_exposures']) {
      const r = await w.query(`SELECT * FROM ${view}`);
      assert.equal(r.rows.length, 0, view);
      assert.ok(r.columns.length >= 3, `${view} has its columns`);
    }
  } finally {
    w.close();
    cleanup();
  }
});
