/**
 * The console in real headless Chromium against a running Mosaic: log in, watch the pipeline's
 * figures move while events are sent, find a profile by email, at desktop and phone widths,
 * with axe-core finding no serious accessibility problem. Screenshots go to
 * test-output/console/. Needs Debian's chromium: skipped with a message without it, unless
 * MOSAIC_REQUIRE_BROWSER=1 (CI) makes that a failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { openExpectationRuns } from '../../src/adapters/from-config.js';
import { API_TOKEN, WRITE_KEY, basic, startMosaic } from '../helpers.js';
import { plantLake } from '../quality/lake-fixture.js';

const CHROMIUM = '/usr/bin/chromium';
const missing = !existsSync(CHROMIUM);
if (missing && process.env.MOSAIC_REQUIRE_BROWSER === '1') throw new Error(`MOSAIC_REQUIRE_BROWSER=1 but ${CHROMIUM} is missing (apt-get install chromium)`);
const skip = missing ? `${CHROMIUM} not installed (apt-get install chromium); set MOSAIC_REQUIRE_BROWSER=1 to fail instead` : false;

const SHOTS = join(process.cwd(), 'test-output', 'console');
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's serious and critical findings on the page as it is now. */
async function seriousViolations(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol: the console's CSP (rightly) refuses inline scripts.
  if ((await page.evaluate('typeof window.axe')) !== 'object') await page.evaluate(AXE);
  const result = (await page.evaluate('window.axe.run(document, { resultTypes: ["violations"] })')) as { violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] };
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/**
 * Polls `expression` in the page until it is truthy. Evaluated through the DevTools protocol:
 * page.waitForFunction evaluates its string with eval, which the console's CSP refuses.
 */
async function until(page: Page, expression: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await page.evaluate(expression))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${expression}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const launch = () =>
  chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });

/** A 1280 px page, with the script errors it meets collected in `errors`. */
async function desktopPage(browser: Browser): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  // HTTP errors a test provokes (a wrong token, an unknown person, the CSRF check) are logged by Chromium as resource errors: only script errors count.
  page.on('console', (msg) => msg.type() === 'error' && !msg.text().startsWith('Failed to load resource') && errors.push(msg.text()));
  return { page, errors };
}

async function send(base: string, messages: Record<string, unknown>[]): Promise<void> {
  const r = await fetch(`${base}/v1/batch`, { method: 'POST', headers: { authorization: basic(WRITE_KEY), 'content-type': 'application/json' }, body: JSON.stringify({ batch: messages }) });
  assert.equal(r.status, 200, await r.text());
}

test('the console: log in, live pipeline figures, a profile found by email, phone width, no serious accessibility problems', { skip, timeout: 120_000 }, async () => {
  const m = await startMosaic({ console: { historyIntervalSeconds: 1 } });
  let browser: Browser | undefined;
  try {
    await m.app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(m.app.server.address() as { port: number }).port}`;
    mkdirSync(SHOTS, { recursive: true });
    await send(base, [
      { type: 'page', anonymousId: 'anon-ann', name: 'Home' },
      { type: 'identify', anonymousId: 'anon-ann', userId: 'ann', traits: { email: 'Ann@Example.com', plan: 'pro' } },
      { type: 'track', userId: 'ann', event: 'Order Completed', properties: { revenue: 42 } },
    ]);

    browser = await launch();
    const { page, errors } = await desktopPage(browser);

    // Logging in: a wrong token is refused with the API's message; the admin token gets in.
    await page.goto(`${base}/console`);
    await page.getByLabel('Admin API token').fill('mt_not_a_real_token_000');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').filter({ hasText: 'unknown or revoked' }).or(page.getByRole('alert')).first().waitFor();
    assert.deepEqual(await seriousViolations(page), [], 'login page');
    await page.screenshot({ path: join(SHOTS, 'login.png') });
    await page.getByLabel('Admin API token').fill(API_TOKEN);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Pipeline' }).waitFor();

    // The figures move while events arrive: the accepted rate goes above zero, the charts gain points.
    const points = async () => Number(await page.locator('.plot').first().getAttribute('data-points'));
    const startPoints = await points();
    const sending = (async () => {
      for (let i = 0; i < 12; i++) {
        await send(base, Array.from({ length: 20 }, (_, j) => ({ type: 'track', userId: `u${j}`, event: 'Product Viewed', properties: { i } })));
        await send(base, [{ type: 'track', event: 'Broken' }]).catch(() => undefined); // rejected: no identity
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    await until(page, `Number(document.querySelector('[data-figure="accepted"]')?.textContent?.replace(/,/g, '')) > 0`);
    await sending;
    await until(page, `Number(document.querySelector('.plot')?.getAttribute('data-points')) >= ${startPoints + 3}`);
    assert.ok((await points()) > startPoints);
    await until(page, `!/rejected 0\\//.test(document.querySelector('.chart .summary')?.textContent ?? 'rejected 0/')`);
    assert.deepEqual(await seriousViolations(page), [], 'pipeline page');
    await page.screenshot({ path: join(SHOTS, 'pipeline.png'), fullPage: true });

    // A profile by the email it was identified with (the store holds it pseudonymized).
    await page.getByRole('link', { name: 'Profiles' }).click();
    await page.getByLabel('Identity').fill('ann@example.com');
    await page.getByRole('button', { name: 'Find' }).click();
    await page.getByRole('heading', { name: /^Profile / }).waitFor();
    const identities = await page.getByRole('table', { name: 'Identities', exact: true }).innerText();
    assert.match(identities, /user_id\s+ann/);
    assert.match(identities, /anonymous_id\s+anon-ann/);
    assert.match(await page.getByRole('table', { name: 'Traits', exact: true }).innerText(), /plan\s+pro/);
    assert.match(await page.locator('.events').innerText(), /Order Completed/);
    assert.deepEqual(await seriousViolations(page), [], 'profile page');
    await page.screenshot({ path: join(SHOTS, 'profile.png'), fullPage: true });

    // Unknown people are said to be unknown.
    await page.getByLabel('Identity').fill('nobody@example.com');
    await page.getByRole('button', { name: 'Find' }).click();
    await page.getByRole('alert').filter({ hasText: 'No profile holds' }).waitFor();

    // A phone's width: everything reachable without sideways scrolling.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base}/console/#/profiles/ann%40example.com`);
    await page.getByRole('heading', { name: /^Profile / }).waitFor();
    assert.ok(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth + 1'), 'no horizontal scroll at 390 px');
    await page.screenshot({ path: join(SHOTS, 'profile-phone.png'), fullPage: true });
    await page.goto(`${base}/console/#/pipeline`);
    await page.getByRole('heading', { name: 'Pipeline' }).waitFor();
    assert.ok(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth + 1'), 'no horizontal scroll at 390 px');
    await page.screenshot({ path: join(SHOTS, 'pipeline-phone.png'), fullPage: true });

    // The session cookie alone cannot change anything: a change needs the CSRF header.
    const refused = await page.evaluate(`fetch('/v1/tokens/tok_x', { method: 'DELETE' }).then(async (r) => ({ status: r.status, code: (await r.json()).error.code }))`);
    assert.deepEqual(refused, { status: 403, code: 'MOSAIC_CSRF_INVALID' });

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('Admin API token').waitFor();
    const after = await page.evaluate(`fetch('/v1/metrics/history').then((r) => r.status)`);
    assert.equal(after, 401, 'logged out: the cookie opens nothing');
    assert.deepEqual(errors, []);
  } finally {
    await browser?.close();
    await m.cleanup();
  }
});

test('the console: open an audience, replay a quarantined event, erase a person, try a decision', { skip, timeout: 120_000 }, async () => {
  const m = await startMosaic({
    audiences: [{ name: 'pro', description: 'Paying for Pro', rule: { trait: 'plan', op: 'eq', value: 'pro' } }],
    quality: { violations: 'quarantine' },
  });
  let browser: Browser | undefined;
  try {
    await m.app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(m.app.server.address() as { port: number }).port}`;
    const admin = { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' };
    const schema = await fetch(`${base}/v1/schemas/${encodeURIComponent('track:Signed Up')}`, { method: 'POST', headers: admin, body: JSON.stringify({ schema: { type: 'object', required: ['plan'] } }) });
    assert.equal(schema.status, 201);
    await send(base, [
      { type: 'identify', userId: 'ann', traits: { plan: 'pro' } },
      { type: 'identify', userId: 'bob', traits: { plan: 'free', email: 'bob@example.com' } },
      { type: 'track', userId: 'cy', event: 'Signed Up', properties: { source: 'ad' } }, // no plan: quarantined
    ]);
    await m.processor.drain();

    browser = await launch();
    const { page, errors } = await desktopPage(browser);
    await page.goto(`${base}/console/#/audiences`);
    await page.getByLabel('Admin API token').fill(API_TOKEN);
    await page.getByRole('button', { name: 'Log in' }).click();

    // An audience: its size, its rule in words, its members.
    await page.getByRole('link', { name: 'pro', exact: true }).click();
    await page.getByRole('heading', { name: 'Audience pro' }).waitFor();
    assert.equal(await page.locator('[data-rule]').innerText(), 'trait plan = "pro"');
    await page.getByRole('cell', { name: 'user_id:ann' }).waitFor();
    assert.equal(await page.getByRole('cell', { name: 'user_id:bob' }).count(), 0);
    assert.deepEqual(await seriousViolations(page), [], 'audience page');
    await page.screenshot({ path: join(SHOTS, 'audience.png'), fullPage: true });

    // The quarantine: replaying re-checks (still failing), "Replay anyway" lets it through.
    await page.getByRole('link', { name: 'Quality' }).click();
    await page.getByRole('heading', { name: /Signed Up/ }).waitFor();
    assert.match(await page.locator('.card').innerText(), /plan/);
    assert.match(await page.getByRole('table', { name: 'Pending by event' }).innerText(), /track:Signed Up\s+1/);
    assert.match(await page.getByRole('table', { name: 'Pending by rule' }).innerText(), /required\s+1/);
    assert.deepEqual(await seriousViolations(page), [], 'quality page');
    await page.screenshot({ path: join(SHOTS, 'quarantine.png'), fullPage: true });
    await page.getByRole('button', { name: 'Replay', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'still break the plan' }).waitFor();
    await page.getByRole('button', { name: 'Replay anyway' }).click();
    await page.getByRole('status').filter({ hasText: '1 replayed' }).waitFor();
    await page.getByText('Nothing here.').waitFor();
    await m.processor.drain();
    const cy = await fetch(`${base}/v1/profiles/user_id:cy`, { headers: admin });
    assert.equal(((await cy.json()) as { eventCounts: Record<string, number> }).eventCounts['Signed Up'], 1, 'the replayed event reached the profile');

    // An erasure, confirmed, followed to completion.
    await page.getByRole('link', { name: 'Privacy' }).click();
    await page.getByLabel('Identity to erase').fill('email:bob@example.com');
    await page.getByRole('button', { name: 'Erase…' }).click();
    await page.getByRole('alertdialog').waitFor();
    assert.deepEqual(await seriousViolations(page), [], 'privacy page with the confirmation');
    await page.getByRole('button', { name: 'Erase for good' }).click();
    await page.getByRole('status').filter({ hasText: 'accepted' }).waitFor();
    await page.locator('[data-status]').filter({ hasText: 'completed' }).first().waitFor({ timeout: 60_000 });
    assert.equal((await fetch(`${base}/v1/profiles/user_id:bob`, { headers: admin })).status, 404, 'bob is gone');
    await page.getByLabel('Subject').fill('');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('cell', { name: 'privacy.erase' }).first().waitFor();
    await page.screenshot({ path: join(SHOTS, 'privacy.png'), fullPage: true });

    // A decision for ann (no catalog: no items, but the answer and its personalization show).
    await page.getByRole('link', { name: 'Decisions' }).click();
    await page.getByLabel('Person').fill('ann');
    await page.getByRole('button', { name: 'Decide' }).click();
    await page.getByText(/^Personalized for/).waitFor();
    assert.deepEqual(await seriousViolations(page), [], 'decisions page');
    assert.deepEqual(errors, []);
  } finally {
    await browser?.close();
    await m.cleanup();
  }
});

test('the console: expectation results with their history, profiling and drift charts, experiment results per variant', { skip, timeout: 120_000 }, async () => {
  // A lake holding two weeks of orders (prices rise in the second), and an experiment's exposures and conversions.
  const DAY = 86_400_000;
  const t0 = Date.now() - 14 * DAY;
  const envelopes: string[] = [];
  const at = (ms: number) => new Date(ms).toISOString();
  for (let i = 0; i < 1400; i++) {
    const day = Math.floor(i / 100);
    const props = { price: (day >= 7 ? 70 : 40) + (i % 21), currency: i % 2 ? 'EUR' : 'USD' };
    envelopes.push(JSON.stringify({ type: 'track', event: 'Order Placed', messageId: `o${i}`, userId: `c${i % 50}`, timestamp: at(t0 + day * DAY + (i % 100) * 60_000), receivedAt: at(t0 + day * DAY), sourceId: 'web', properties: props }));
  }
  for (let u = 0; u < 100; u++) {
    const variant = u % 2 ? 'cooc' : 'control';
    const seen = t0 - DAY + u * 1000; // before both weeks the drift compares
    envelopes.push(JSON.stringify({ type: 'track', event: 'Experiment Viewed', messageId: `x${u}`, userId: `v${u}`, timestamp: at(seen), receivedAt: at(seen), sourceId: 'mosaic:experiments', properties: { experiment_id: 'home_recs', variant_name: variant, placement: 'home' } }));
    // Every cooc person converts; one control person in four.
    if (u % 2 || u % 4 === 0) envelopes.push(JSON.stringify({ type: 'track', event: 'Order Completed', messageId: `c${u}`, userId: `v${u}`, timestamp: at(seen + 60_000), receivedAt: at(seen + 60_000), sourceId: 'web', properties: {} }));
  }
  const lake = await plantLake(envelopes);
  const m = await startMosaic({
    lake: { dir: lake.lakeDir, offloadIntervalSeconds: 0 },
    personalization: { placements: { home: { strategy: { popular: 1 }, experiment: { name: 'home_recs', variants: [{ name: 'control', weight: 1 }, { name: 'cooc', weight: 1, strategy: { cooccurrence: 1 } }] } } } },
  });
  const runs = await openExpectationRuns(m.config);
  let browser: Browser | undefined;
  try {
    const run = (i: number, status: 'pass' | 'fail') => ({
      suite: 'orders',
      table: 'events',
      startedAt: t0 + i * DAY,
      finishedAt: t0 + i * DAY + 900,
      status,
      results: [
        { name: 'not_null(user_id)', kind: 'not_null', status: 'pass' as const, message: 'no null', observed: {} },
        { name: 'in_range(properties.price)', kind: 'in_range', status, message: status === 'pass' ? 'all within 0–100' : '12 rows above 100', observed: {} },
      ],
    });
    for (const [i, status] of [[1, 'pass'], [2, 'fail'], [3, 'pass']] as const) await runs.record(run(i, status));
    await m.app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(m.app.server.address() as { port: number }).port}`;
    browser = await launch();
    const { page, errors } = await desktopPage(browser);
    await page.goto(`${base}/console/#/quality`);
    await page.getByLabel('Admin API token').fill(API_TOKEN);
    await page.getByRole('button', { name: 'Log in' }).click();

    // Expectations: the latest run, and each expectation's past results.
    await page.getByRole('heading', { name: /^orders/ }).waitFor();
    assert.match(await page.getByRole('article').innerText(), /pass · 2 of 2 passed/);
    assert.equal(await page.getByRole('img', { name: 'Suite orders, last 3 runs: 2 pass, 1 fail; latest pass' }).count(), 1);
    assert.equal(await page.getByRole('img', { name: 'in_range(properties.price), last 3 runs: 2 pass, 1 fail; latest pass' }).count(), 1);
    assert.equal(await page.getByRole('img', { name: 'not_null(user_id), last 3 runs: 3 pass; latest pass' }).count(), 1);

    // Drift: this week against the last; the price moved, the currency did not.
    await page.getByLabel('Period', { exact: true }).selectOption('7d');
    await page.getByLabel('Drift against the period before').check();
    await page.getByLabel('Columns', { exact: true }).fill('properties.price, properties.currency');
    await page.getByRole('button', { name: 'Compare' }).click();
    await page.getByRole('status').filter({ hasText: '1 columns drifted significantly' }).waitFor();
    const drift = page.locator('figure.bars').filter({ hasText: 'Drift by column (PSI)' });
    assert.match(await drift.innerText(), /properties\.price\s+[\d.]+ significant/);
    assert.match(await drift.innerText(), /properties\.currency\s+0\.000 stable/);
    assert.match(await page.locator('figure.bars').filter({ hasText: 'share of rows per bin' }).innerText(), /properties\.price: share of rows per bin/);
    assert.deepEqual(await seriousViolations(page), [], 'quality page with drift');
    await page.screenshot({ path: join(SHOTS, 'quality-drift.png'), fullPage: true });

    // A profile of the same: null rates and a histogram.
    await page.getByLabel('Drift against the period before').uncheck();
    await page.getByRole('button', { name: 'Profile' }).click();
    await page.getByRole('status').filter({ hasText: /rows, 2 columns profiled/ }).waitFor();
    const histogram = await page.locator('figure.bars').filter({ hasText: 'rows per bin' }).innerText();
    assert.match(histogram, /properties\.price: rows per bin/);
    assert.match(await page.getByRole('table', { name: 'Columns' }).innerText(), /properties\.price\s+JSON\s+0\.0%/);
    assert.deepEqual(await seriousViolations(page), [], 'quality page with a profile');
    await page.setViewportSize({ width: 390, height: 844 });
    assert.ok(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth + 1'), 'no horizontal scroll at 390 px');
    await page.screenshot({ path: join(SHOTS, 'quality-profile-phone.png'), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });

    // The experiment, per variant, tested against the control.
    await page.getByRole('link', { name: 'Decisions' }).click();
    await page.getByLabel('Conversion event').fill('Order Completed');
    await page.getByRole('button', { name: 'Show results' }).click();
    const rates = await page.locator('figure.bars').filter({ hasText: 'share converting' }).innerText();
    assert.match(rates, /control \(control\)\s+50\.0% \(25 of 50\)/);
    assert.match(rates, /cooc\s+100\.0% \(50 of 50\)/);
    assert.match(await page.getByRole('table', { name: /Against the control/ }).innerText(), /cooc\s+\+50\.00 points.*significant at 95%/s);
    assert.deepEqual(await seriousViolations(page), [], 'decisions page with an experiment');
    await page.screenshot({ path: join(SHOTS, 'experiment.png'), fullPage: true });
    assert.deepEqual(errors, []);
  } finally {
    await browser?.close();
    await runs.close();
    await m.cleanup();
    lake.cleanup();
  }
});

test('the console API: login needs an admin token; a session ends with its token', { timeout: 30_000 }, async () => {
  const m = await startMosaic();
  try {
    const login = (token: string) => m.app.inject({ method: 'POST', url: '/console/login', payload: { token } });
    assert.equal((await login('nope-nope-nope')).json().error.code, 'MOSAIC_AUTH_TOKEN_INVALID');
    const reader = m.control.createToken('reader', ['profiles:read']);
    const r = await login(reader.token);
    assert.equal(r.statusCode, 403);
    assert.equal(r.json().error.code, 'MOSAIC_AUTH_SCOPE');

    const admin = m.control.createToken('console', ['admin']);
    const ok = await login(admin.token);
    assert.equal(ok.statusCode, 200);
    const cookie = ok.cookies.find((c) => c.name === 'mosaic_console')!;
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    const cookies = { mosaic_console: cookie.value };
    assert.equal((await m.app.inject({ method: 'GET', url: '/v1/metrics/history', cookies })).statusCode, 200);
    assert.equal((await m.app.inject({ method: 'GET', url: '/v1/metrics/history' })).statusCode, 401);
    // A changing request with the right header goes through.
    const csrf = ok.json().csrf as string;
    const del = await m.app.inject({ method: 'DELETE', url: '/v1/tokens/tok_missing', cookies, headers: { 'x-mosaic-csrf': csrf } });
    assert.equal(del.json().error.code, 'MOSAIC_TOKEN_NOT_FOUND');
    assert.equal((await m.app.inject({ method: 'DELETE', url: '/v1/tokens/tok_missing', cookies, headers: { 'x-mosaic-csrf': 'x'.repeat(csrf.length) } })).json().error.code, 'MOSAIC_CSRF_INVALID');

    m.control.revokeToken(admin.id);
    assert.equal((await m.app.inject({ method: 'GET', url: '/v1/metrics/history', cookies })).statusCode, 401, 'the revoked token took its session with it');
  } finally {
    await m.cleanup();
  }
});
