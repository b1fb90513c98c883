import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterProfiles, silhouette, standardize } from '../../src/lake/clusters.js';
import { Offloader } from '../../src/lake/offload.js';
import { snapshotProfiles } from '../../src/lake/snapshot.js';
import { profileModel } from '../../src/process/profile-model.js';
import { API_TOKEN, WRITE_KEY, basic, startMosaic } from '../helpers.js';

test('silhouette and standardization', () => {
  assert.deepEqual(standardize([[1, 5], [3, 5]]), [[-1, 0], [1, 0]]);
  const pts = [[0, 0], [0, 1], [10, 10], [10, 11]];
  assert.ok(silhouette(pts, [0, 0, 1, 1]) > 0.9, 'two tight, far groups');
  assert.ok(silhouette(pts, [0, 1, 0, 1]) < 0, 'groups cut across');
  assert.equal(silhouette(pts, [0, 0, 0, 0]), -1, 'one cluster has none');
});

test('clusters: three kinds of customers are found as three k-means clusters (k chosen by silhouette) and written back as traits; DBSCAN as an option', async () => {
  const m = await startMosaic({
    schedules: [{ name: 'segments', cron: '0 6 * * *', job: { kind: 'clusters' } }],
    batchFeatures: { clusters: { kMin: 2, kMax: 6 } },
  });
  try {
    const now = Date.now();
    const at = (days: number, s = 0) => new Date(now - days * 86_400_000 - s * 1000).toISOString();
    const batch: object[] = [];
    // 20 big spenders (many events, many purchases), 20 browsers (many pages, no purchase), 20 one-timers (one old purchase).
    for (let i = 0; i < 20; i++) {
      for (let k = 0; k < 12; k++) batch.push({ type: 'track', userId: `big${i}`, event: 'Order Completed', properties: { revenue: 200 + i }, timestamp: at(1, k * 60 + i), messageId: `b-${i}-${k}` });
      for (let k = 0; k < 15; k++) batch.push({ type: 'page', userId: `browse${i}`, name: 'Home', timestamp: at(2, k * 60 + i), messageId: `p-${i}-${k}` });
      batch.push({ type: 'track', userId: `once${i}`, event: 'Order Completed', properties: { revenue: 20 }, timestamp: at(60, i), messageId: `o-${i}` });
    }
    for (let i = 0; i < batch.length; i += 400) assert.equal((await m.app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: basic(WRITE_KEY) }, payload: { batch: batch.slice(i, i + 400) } })).statusCode, 200);
    await m.processor.drain();
    const lakeDir = m.config.lake.dir!;
    await new Offloader(m.log, { lakeDir, chunkEvents: 5000 }).run();
    await snapshotProfiles(m.store, profileModel(m.config), lakeDir);
    const run = await m.scheduler!.runNow('segments');
    assert.equal(run?.status, 'succeeded', run?.message);
    assert.match(run!.message!, /^kmeans: 3 clusters, silhouette 0\.\d+/);
    await m.processor.drain();
    const clusterOf = async (id: string) => (await m.app.inject({ method: 'GET', url: `/v1/profiles/user_id:${id}`, headers: { authorization: `Bearer ${API_TOKEN}` } })).json().traits.behavior_cluster as number;
    for (const group of ['big', 'browse', 'once']) {
      const labels = new Set(await Promise.all(Array.from({ length: 20 }, (_, i) => clusterOf(`${group}${i}`))));
      assert.equal(labels.size, 1, `${group}: one cluster`);
    }
    assert.equal(new Set([await clusterOf('big0'), await clusterOf('browse0'), await clusterOf('once0')]).size, 3);
    // DBSCAN on the same profiles: three dense groups, no noise.
    const d = await clusterProfiles(lakeDir, { algorithm: 'dbscan', eps: 1, minPoints: 5, kMin: 2, kMax: 6, event: 'Order Completed', revenue: 'revenue' });
    assert.equal(d.k, 3);
    const byGroup = (g: string) => new Set(d.profiles.filter((p) => p.id.startsWith(g)).map((p) => p.cluster));
    assert.deepEqual([byGroup('big').size, byGroup('browse').size, byGroup('once').size], [1, 1, 1]);
    assert.ok(d.profiles.every((p) => p.cluster > 0), 'no noise');
  } finally {
    await m.cleanup();
  }
});
