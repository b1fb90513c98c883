import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { Offloader } from '../../src/lake/offload.js';
import { snapshotProfiles } from '../../src/lake/snapshot.js';
import { mulberry32 } from '../../src/core/minhash.js';
import { profileModel } from '../../src/process/profile-model.js';
import { API_TOKEN, WRITE_KEY, basic, runCli, startMosaic } from '../helpers.js';

const DAY = 86_400_000;

test('models: churn and propensity trained on the warehouse, AUC on held-out profiles, scores written back as traits; CLI and schedule', { timeout: 120_000 }, async () => {
  const m = await startMosaic({
    processor: { enabled: false }, // driven by drain(): quicker than a running one polling beside the test
    lake: { offloadIntervalSeconds: 0 },
    schedules: [{ name: 'propensity-nightly', cron: '0 4 * * *', job: { kind: 'model', model: 'propensity' } }],
  });
  try {
    // 300 people over 120 days. Loyal ones (60%) come back every few days and buy now and then;
    // the others fade: fewer and fewer visits, the last of them well before the end.
    const rand = mulberry32(11);
    const start = Date.now() - 120 * DAY;
    const batch: object[] = [];
    const loyal = new Set<string>();
    for (let u = 0; u < 300; u++) {
      const userId = `c${u}`;
      const stays = rand() < 0.6;
      if (stays) loyal.add(userId);
      const end = stays ? 120 : 20 + rand() * 60;
      for (let day = rand() * 5; day < end; day += stays ? 1 + rand() * 5 : 2 + rand() * 12 * (1 + day / 30)) {
        const timestamp = new Date(start + day * DAY).toISOString();
        batch.push({ type: 'page', userId, name: 'Home', timestamp });
        if (stays && rand() < 0.3) batch.push({ type: 'track', userId, event: 'Order Completed', properties: { revenue: 20 + Math.round(rand() * 80) }, timestamp });
      }
    }
    for (let i = 0; i < batch.length; i += 1000) {
      assert.equal((await m.app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: basic(WRITE_KEY) }, payload: { batch: batch.slice(i, i + 1000) } })).statusCode, 200);
    }
    await m.processor.drain();
    const lakeDir = m.config.lake.dir!;
    await new Offloader(m.log, { lakeDir, chunkEvents: 100_000 }).run();
    await snapshotProfiles(m.store, profileModel(m.config), lakeDir);

    const admin = { authorization: `Bearer ${API_TOKEN}` };
    const churn = await m.app.inject({ method: 'POST', url: '/v1/models/churn/train', headers: admin, payload: {} });
    assert.equal(churn.statusCode, 200, churn.body);
    const r = churn.json();
    assert.equal(r.model, 'churn');
    assert.ok(r.trainRows + r.testRows === 300 || r.trainRows + r.testRows < 300, 'people active before the cut-off');
    assert.ok(r.testRows > 30, `${r.testRows} held out`);
    assert.ok(r.auc > 0.85, `churn AUC ${r.auc}`);
    assert.ok(r.weights.recency_days > 0, 'the longer since the last visit, the likelier the churn');
    assert.equal(r.written, 300);

    await m.processor.drain();
    const profile = async (id: string) => (await m.app.inject({ method: 'GET', url: `/v1/profiles/user_id:${id}`, headers: admin })).json();
    let loyalSum = 0;
    let fadedSum = 0;
    for (let u = 0; u < 300; u++) {
      const p = await profile(`c${u}`);
      const s = p.traits.churn_score as number;
      assert.ok(s >= 0 && s <= 1, `c${u}: ${s}`);
      if (loyal.has(`c${u}`)) loyalSum += s;
      else fadedSum += s;
    }
    assert.ok(fadedSum / (300 - loyal.size) > loyalSum / loyal.size + 0.3, 'the people who faded score far higher');

    // Propensity, from the schedule, written the same way.
    const run = await m.scheduler!.runNow('propensity-nightly');
    assert.equal(run?.status, 'succeeded', run?.message);
    assert.match(run!.message!, /propensity: AUC 0\.\d+ on \d+ held-out profiles; 300 profiles scored/);
    await m.processor.drain();
    assert.equal(typeof (await profile('c1')).traits.propensity_score, 'number');

    // The CLI asks the running Mosaic; --no-write only reports.
    await m.app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(m.app.server.address() as AddressInfo).port}`;
    const cli = await runCli(m.config.dataDir, ['model', 'train', 'propensity', '--no-write', '--url', url, '--token', API_TOKEN]);
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, /model propensity: trained on \d+ profiles .* converted\)\n\s+AUC on \d+ held-out profiles: 0\.\d{3}/);
    assert.match(cli.stdout, /none written \(--no-write\)/);
    const bad = await runCli(m.config.dataDir, ['model', 'train', 'ltv', '--url', url, '--token', API_TOKEN]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /No model "ltv": churn or propensity/);
    const tooShort = await m.app.inject({ method: 'POST', url: '/v1/models/churn/train', headers: admin, payload: { horizonDays: 365 } });
    assert.equal(tooShort.statusCode, 400);
    assert.match(tooShort.json().error.message, /Too little to learn from/);
  } finally {
    await m.cleanup();
  }
});
