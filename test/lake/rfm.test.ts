import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Offloader } from '../../src/lake/offload.js';
import { snapshotProfiles } from '../../src/lake/snapshot.js';
import { profileModel } from '../../src/process/profile-model.js';
import { API_TOKEN, WRITE_KEY, basic, startMosaic } from '../helpers.js';

test('rfm: quintile scores and named segments from purchases in the warehouse, written back to profiles as traits (not as events), once a day', async () => {
  const m = await startMosaic({ schedules: [{ name: 'rfm-daily', cron: '0 5 * * *', job: { kind: 'rfm' } }], batchFeatures: { rfm: { event: 'Order Completed', revenue: 'revenue' } } });
  try {
    const now = Date.now();
    // Customer i buys i+1 times, last i days... the best (c9) bought most, most recently, most.
    const batch: object[] = [];
    for (let i = 0; i < 10; i++) {
      for (let k = 0; k <= i; k++) batch.push({ type: 'track', userId: `c${i}`, event: 'Order Completed', properties: { revenue: 10 * (i + 1) }, timestamp: new Date(now - (10 - i) * 86_400_000 - k * 1000).toISOString(), messageId: `o-${i}-${k}` });
    }
    batch.push({ type: 'page', anonymousId: 'browser', name: 'Home', messageId: 'no-purchase' });
    assert.equal((await m.app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: basic(WRITE_KEY) }, payload: { batch } })).statusCode, 200);
    await m.processor.drain();
    const lakeDir = m.config.lake.dir!;
    await new Offloader(m.log, { lakeDir, chunkEvents: 1000 }).run();
    await snapshotProfiles(m.store, profileModel(m.config), lakeDir);
    const run = await m.scheduler!.runNow('rfm-daily');
    assert.equal(run?.status, 'succeeded', run?.message);
    assert.equal(run?.rows, 10, 'every buyer, no one else');
    assert.equal((await m.scheduler!.runNow('rfm-daily'))?.status, 'succeeded', 'a second run the same day');
    await m.processor.drain();
    const traits = async (id: string) => (await m.app.inject({ method: 'GET', url: `/v1/profiles/user_id:${id}`, headers: { authorization: `Bearer ${API_TOKEN}` } })).json();
    const best = await traits('c9');
    assert.deepEqual([best.traits.rfm_score, best.traits.rfm_segment, best.traits.rfm_frequency, best.traits.rfm_monetary, best.traits.rfm_recency_days], ['555', 'Champions', 10, 1000, 1]);
    assert.equal(best.eventCount, 10, 'the written-back traits are not events of the person');
    const worst = await traits('c0');
    assert.deepEqual([worst.traits.rfm_score, worst.traits.rfm_segment], ['111', 'Hibernating']);
    // The RFM identify is in the log once (one messageId per profile and day).
    await new Offloader(m.log, { lakeDir, chunkEvents: 1000 }).run();
    const { Warehouse } = await import('../../src/lake/warehouse.js');
    const w = await Warehouse.open(lakeDir);
    try {
      assert.deepEqual((await w.query("SELECT count(*)::INTEGER FROM events WHERE source_id = 'mosaic:batch'")).rows, [[10]]);
    } finally {
      w.close();
    }
  } finally {
    await m.cleanup();
  }
});
