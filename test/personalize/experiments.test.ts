import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { Offloader } from '../../src/lake/offload.js';
import { experimentReport } from '../../src/personalize/experiment-report.js';
import { API_TOKEN, WRITE_KEY, basic, runCli, startMosaic } from '../helpers.js';

const personalization = {
  placements: {
    home: { strategy: { popular: 1 }, experiment: { name: 'home_recs', variants: [{ name: 'control', weight: 1 }, { name: 'cooc', weight: 1, strategy: { cooccurrence: 1 } }] } },
  },
};

test('experiments end to end: exposures in the lake, conversion by variant in SQL and in the report, items imported and evaluated from the CLI', { timeout: 120_000 }, async () => {
  const m = await startMosaic({ processor: { enabled: false }, lake: { offloadIntervalSeconds: 0 }, personalization });
  try {
    writeFileSync(join(m.config.dataDir, 'mosaic.yaml'), stringify({ personalization }));
    // The catalog from a CSV file, through the CLI; one bad row is reported by line, the rest imported.
    const csv = join(m.config.dataDir, 'items.csv');
    writeFileSync(csv, ['id,title,categories,price,available,colour', ...Array.from({ length: 20 }, (_, i) => `p${i},Product ${i},cat${i % 4}|all,${10 + i},true,red`), 'bad,Bad price,x,-5,true,'].join('\n'));
    const imported = await runCli(m.config.dataDir, ['import', 'items', csv]);
    assert.equal(imported.status, 1, imported.stderr);
    assert.match(imported.stderr, /items: 21 rows read, 20 imported, 1 rejected/);
    assert.match(imported.stderr, /line 22: price: "price" must be a number ≥ 0/);
    const p3 = (await m.app.inject({ method: 'GET', url: '/v1/items/p3', headers: { authorization: `Bearer ${API_TOKEN}` } })).json();
    assert.deepEqual(p3, { id: 'p3', title: 'Product 3', categories: ['cat3', 'all'], tags: [], price: 13, available: true, attributes: { colour: 'red' } });

    // 200 people browse (p_i then p_i+1), see the experiment, and the cooc variant's people convert more often (by design here).
    const headers = { authorization: basic(WRITE_KEY), 'content-type': 'application/json' };
    const t = Date.now() - 3_600_000;
    const batch = Array.from({ length: 200 }, (_, u) => [
      { type: 'track', userId: `u${u}`, event: 'Product Viewed', properties: { product_id: `p${u % 19}` }, timestamp: new Date(t + u * 1000).toISOString() },
      { type: 'track', userId: `u${u}`, event: 'Product Viewed', properties: { product_id: `p${(u % 19) + 1}` }, timestamp: new Date(t + u * 1000 + 500).toISOString() },
    ]).flat();
    assert.equal((await m.app.inject({ method: 'POST', url: '/v1/batch', payload: { batch }, headers })).statusCode, 200);
    await m.processor.drain();
    await m.personalization!.signals!.drain();
    const variantOf = new Map<string, string>();
    for (let u = 0; u < 200; u++) {
      const d = (await m.app.inject({ method: 'POST', url: '/v1/decide', payload: { userId: `u${u}`, placement: 'home' }, headers: { authorization: `Bearer ${API_TOKEN}` } })).json();
      variantOf.set(`u${u}`, d.variant.name);
    }
    const counts = { control: 0, cooc: 0 };
    for (const v of variantOf.values()) counts[v as 'control' | 'cooc']++;
    assert.ok(counts.control > 60 && counts.cooc > 60, `a 50/50 split: ${JSON.stringify(counts)}`);
    // Conversions after the exposure: every cooc person, every third control person; one before any exposure (not counted).
    await new Promise((r) => setTimeout(r, 50));
    const later = new Date(Date.now() + 1000).toISOString();
    const orders = [...variantOf].filter(([, v], i) => v === 'cooc' || i % 3 === 0).map(([u]) => ({ type: 'track', userId: u, event: 'Order Completed', properties: { products: [{ product_id: 'p1' }] }, timestamp: later }));
    orders.push({ type: 'track', userId: 'u0', event: 'Order Completed', properties: { products: [{ product_id: 'p2' }] }, timestamp: new Date(t).toISOString() });
    assert.equal((await m.app.inject({ method: 'POST', url: '/v1/batch', payload: { batch: orders }, headers })).statusCode, 200);
    // Exposures are appended in the background: wait until all 200 are in the log, then copy the log to the lake.
    for (let tries = 0; tries < 100; tries++) {
      const ends = await m.log.endOffsets();
      let n = 0;
      for (let p = 0; p < ends.length; p++) for (const e of await m.log.read(p, 1, 100_000)) if (e.payload.includes('"Experiment Viewed"')) n++;
      if (n === 200) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Offloader(m.log, { lakeDir: m.config.lake.dir!, chunkEvents: 100_000 }).run();

    const expected = {
      control: { people: counts.control, converted: [...variantOf].filter(([, v], i) => v === 'control' && i % 3 === 0).length },
      cooc: { people: counts.cooc, converted: counts.cooc },
    };
    const r = await experimentReport(m.config.lake.dir!, 'home_recs', { conversion: 'Order Completed', variants: ['control', 'cooc'] });
    assert.deepEqual(r.variants.map((v) => [v.variant, v.people, v.converted]), [['control', expected.control.people, expected.control.converted], ['cooc', expected.cooc.people, expected.cooc.converted]]);
    assert.equal(r.tests.length, 1);
    assert.equal(r.tests[0]!.significant, true);
    assert.ok(r.tests[0]!.pValue < 1e-6);

    // The same in SQL, through the warehouse view.
    const sql = await m.app.inject({ method: 'POST', url: '/v1/sql', headers: { authorization: `Bearer ${API_TOKEN}` }, payload: { query: "SELECT variant, count(DISTINCT person) AS people FROM experiment_exposures WHERE experiment = 'home_recs' GROUP BY ALL ORDER BY 1" } });
    assert.equal(sql.statusCode, 200, sql.body);
    assert.deepEqual(sql.json().rows, [['control', String(expected.control.people)], ['cooc', String(expected.cooc.people)]], 'BIGINT counts come as strings');

    const cli = await runCli(m.config.dataDir, ['experiment', 'report', 'home_recs', '--conversion', 'Order Completed']);
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, new RegExp(`control\\s+${expected.control.people}\\s+${expected.control.converted}`));
    assert.match(cli.stdout, /cooc vs control: \+[\d.]+ points .* significant at 95%/);
    // The same over HTTP, as the console asks for it (reports scope).
    const bearer = { authorization: `Bearer ${API_TOKEN}` };
    const listed = await m.app.inject({ method: 'GET', url: '/v1/experiments', headers: bearer });
    assert.deepEqual(listed.json().experiments.map((e: { experiment: string; placement: string; variants: { name: string }[] }) => [e.experiment, e.placement, e.variants.map((v) => v.name)]), [['home_recs', 'home', ['control', 'cooc']]]);
    const http = await m.app.inject({ method: 'GET', url: '/v1/experiments/home_recs/report?conversion=Order%20Completed&since=7d', headers: bearer });
    assert.equal(http.statusCode, 200, http.body);
    assert.deepEqual(http.json().variants, r.variants);
    assert.equal(http.json().tests[0].significant, true);
    const missing = await m.app.inject({ method: 'GET', url: '/v1/experiments/nope/report?conversion=Order%20Completed', headers: bearer });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error.code, 'MOSAIC_EXPERIMENT_NOT_FOUND');
    const noConversion = await m.app.inject({ method: 'GET', url: '/v1/experiments/home_recs/report', headers: bearer });
    assert.equal(noConversion.statusCode, 400);
    const badSince = await m.app.inject({ method: 'GET', url: '/v1/experiments/home_recs/report?conversion=x&since=yesterdayish', headers: bearer });
    assert.equal(badSince.statusCode, 400);
    assert.match(badSince.json().error.message, /since: "yesterdayish" is neither/);

    const list = await runCli(m.config.dataDir, ['experiment', 'list']);
    assert.match(list.stdout, /home_recs \(placement home\)\n\s+control\s+50\.0%/);
    const unknown = await runCli(m.config.dataDir, ['experiment', 'report', 'nope', '--conversion', 'Order Completed']);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /No experiment "nope"/);

    // Offline evaluation on the lake's interactions and the imported catalog.
    const ev = await runCli(m.config.dataDir, ['evaluate', 'recs', '--json']);
    assert.equal(ev.status, 0, ev.stderr);
    const evaluation = JSON.parse(ev.stdout) as { people: number; results: { name: string; hitRate: number }[] };
    assert.ok(evaluation.people > 100, ev.stdout.slice(0, 300));
    const hr = Object.fromEntries(evaluation.results.map((x) => [x.name, x.hitRate]));
    assert.ok(hr.cooccurrence! > hr.popular!, `p_i is followed by p_i+1: co-occurrence finds it (${hr.cooccurrence} vs ${hr.popular})`);
    assert.ok('placement:home' in hr && 'placement:home/cooc' in hr);
  } finally {
    await m.cleanup();
  }
});
