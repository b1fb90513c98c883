import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { Offloader } from '../../src/lake/offload.js';
import { API_TOKEN, WRITE_KEY, basic, runCli, startMosaic } from '../helpers.js';

type Cell = { count?: number; suppressed?: true; audience?: string; day?: string; value?: string };
type Answer = { report: string; epsilon: number; noiseScale: number; cells: Cell[]; budget: { spent: number; remaining: number } };

test('differentially private reports: noisy audience sizes and events by day, small cells withheld, a budget per token', { timeout: 60_000 }, async () => {
  const m = await startMosaic({
    lake: { offloadIntervalSeconds: 0 },
    audiences: [
      { name: 'pros', rule: { trait: 'plan', op: 'eq', value: 'pro' } },
      { name: 'vips', rule: { trait: 'plan', op: 'eq', value: 'vip' } },
    ],
    privacy: { reports: { epsilon: 1, budget: 3, minGroupSize: 20, maxCellsPerPerson: 3, maxEventsPerCell: 3 } },
  });
  try {
    const today = new Date().toISOString().slice(0, 10);
    const people = Array.from({ length: 60 }, (_, i) => `u${i}`);
    const batch = people.flatMap((u, i) => [
      { type: 'identify', userId: u, traits: { plan: i === 0 ? 'vip' : 'pro' } },
      ...Array.from({ length: 4 }, () => ({ type: 'track', userId: u, event: 'Order Completed', properties: { currency: 'EUR' } })),
    ]);
    assert.equal((await m.app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: basic(WRITE_KEY) }, payload: { batch } })).statusCode, 200);
    await m.processor.drain();
    await new Offloader(m.log, { lakeDir: m.config.lake.dir!, chunkEvents: 10_000 }).run();

    const analyst = m.control.createToken('analyst', ['reports']).token;
    const other = m.control.createToken('other', ['reports']).token;
    const get = (url: string, token = analyst) => m.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });

    // Audience sizes: two audiences, so one person moves them by 2 at most: scale 2 at epsilon 1.
    const aud = await get('/v1/reports/audiences');
    assert.equal(aud.statusCode, 200, aud.body);
    const a = aud.json() as Answer;
    assert.equal(a.noiseScale, 2);
    const pros = a.cells.find((c) => c.audience === 'pros')!;
    assert.ok(pros.count !== undefined && Math.abs(pros.count - 59) <= 40, JSON.stringify(pros));
    assert.deepEqual(a.cells.find((c) => c.audience === 'vips'), { audience: 'vips', suppressed: true }, 'one member: withheld');
    assert.deepEqual(a.budget, { limit: 3, spent: 1, remaining: 2, period: 'day' });

    // Events by day and event name: people (each in at most 3 cells: scale 3), then events (capped at 3 per person per cell: scale 9), at epsilon 0.5.
    // Each person is in exactly 3 cells (identify, Order Completed, Audience Entered): the cap, chosen by a hash of the day, drops none.
    const ev = await get(`/v1/reports/events?by=event&since=1d&measure=people&epsilon=0.5`);
    assert.equal(ev.statusCode, 200, ev.body);
    const e = ev.json() as Answer;
    assert.equal(e.noiseScale, 6);
    const orders = e.cells.find((c) => c.value === 'Order Completed' && c.day === today)!;
    assert.ok(orders.count !== undefined && Math.abs(orders.count - 60) <= 80, JSON.stringify(e.cells));
    assert.equal(e.budget.spent, 1.5);
    const byCurrency = (await get(`/v1/reports/events?by=properties.currency&measure=events&epsilon=0.5`)).json() as Answer;
    assert.equal(byCurrency.noiseScale, 18);
    const eur = byCurrency.cells.find((c) => c.value === 'EUR')!;
    assert.ok(eur.count !== undefined && Math.abs(eur.count - 180) <= 240, JSON.stringify(byCurrency.cells));

    // Mistakes cost nothing: a bad dimension, an epsilon above the configured one.
    const bad = await get('/v1/reports/events?by=properties.x%27%3B%20DROP');
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().error.message, /not a report dimension/);
    assert.equal((await get('/v1/reports/audiences?epsilon=2')).statusCode, 400);
    assert.equal((await get('/v1/reports/events?since=2026-13-01')).statusCode, 400);

    // The budget: 2 spent of 3; a report of 1 passes, then one more is refused until midnight UTC.
    assert.equal(((await get('/v1/reports/audiences')).json() as Answer).budget.remaining, 0);
    const refused = await get('/v1/reports/audiences?epsilon=0.1');
    assert.equal(refused.statusCode, 429);
    assert.equal(refused.json().error.code, 'MOSAIC_PRIVACY_BUDGET_SPENT');
    assert.ok(Number(refused.headers['retry-after']) > 0 && Number(refused.headers['retry-after']) <= 86_400);
    assert.equal((await get('/v1/reports/audiences', other)).statusCode, 200, 'each token has its own budget');

    // Scopes: reports only with the reports scope (or admin); a reports token reads no rows.
    const reader = m.control.createToken('reader', ['profiles:read']).token;
    assert.equal((await get('/v1/reports/audiences', reader)).json().error.code, 'MOSAIC_AUTH_SCOPE');
    assert.equal((await m.app.inject({ method: 'POST', url: '/v1/sql', headers: { authorization: `Bearer ${analyst}` }, payload: { query: 'SELECT * FROM events' } })).statusCode, 403);
    assert.equal((await get('/v1/reports/audiences', API_TOKEN)).statusCode, 200);

    // The CLI, against the running Mosaic.
    await m.app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(m.app.server.address() as AddressInfo).port}`;
    const out = await runCli(m.config.dataDir, ['report', 'events', '--by', 'type', '--epsilon', '0.5', '--url', url, '--token', other]);
    assert.equal(out.status, 0, out.stderr);
    assert.match(out.stdout, /events by type \(people\).*epsilon 0\.5, Laplace noise of scale 6\.00, cells under 20 withheld/);
    assert.match(out.stdout, new RegExp(`${today}  track\\s+\\d+`));
    assert.match(out.stdout, /budget: 1\.5 of 3 spent today, 1\.5 left/);
  } finally {
    await m.cleanup();
  }
});
