/**
 * The real browser SDKs, analytics.js (analytics-next) and RudderStack's JS SDK, loaded in
 * headless Chromium from a page on another origin (so CORS is exercised), configured with
 * nothing but Mosaic's address and a write key. Needs Debian's chromium: without it the test
 * is skipped with a message, unless MOSAIC_REQUIRE_BROWSER=1 (CI) makes that a failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join, normalize } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { API_TOKEN, WRITE_KEY, startMosaic } from '../helpers.js';

const CHROMIUM = '/usr/bin/chromium';
// Neither package exports its UMD bundle; find them in the installed package folders.
const modules = join(dirname(createRequire(import.meta.url).resolve('playwright-core')), '..');
const ajsDir = join(modules, '@segment/analytics-next/dist/umd');
const rsBundle = join(modules, '@rudderstack/analytics-js/dist/npm/modern/bundled/umd/index.js');

const missing = !existsSync(CHROMIUM);
if (missing && process.env.MOSAIC_REQUIRE_BROWSER === '1') throw new Error(`MOSAIC_REQUIRE_BROWSER=1 but ${CHROMIUM} is missing (apt-get install chromium)`);
const skip = missing ? `${CHROMIUM} not installed (apt-get install chromium); set MOSAIC_REQUIRE_BROWSER=1 to fail instead` : false;

/** Serves the test page and the SDK bundles from node_modules, on its own origin. */
function pageServer(mosaic: string): Promise<{ server: Server; origin: string }> {
  // Plugins and device-mode destinations would load from RudderStack's CDN: pointed at a 404 here.
  const rudderstackPage = (user: string, plan: string, options: string) => `<script src="/rs/index.js"></script><script>
      const ra = new window.rudderanalytics.RudderAnalytics();
      ra.load('${WRITE_KEY}', '${mosaic}', { configUrl: '${mosaic}', logLevel: 'ERROR', ${options} destSDKBaseURL: '${mosaic}/none', pluginsSDKBaseURL: '${mosaic}/none' });
      ra.ready(() => {
        ra.page('Home');
        ra.identify('${user}', { plan: '${plan}' });
        ra.track('Browser Clicked', { button: 'buy' });
        window.done = true;
      });
    </script>`;
  const pages: Record<string, string> = {
    '/segment.html': `<script src="/ajs/index.js"></script><script>
      (async () => {
        const [analytics] = await AnalyticsNext.AnalyticsBrowser.load({ writeKey: '${WRITE_KEY}', cdnURL: '${mosaic}' });
        await analytics.page('Home');
        await analytics.identify('browser-ajs-user', { plan: 'pro' });
        await analytics.track('Browser Clicked', { button: 'buy' });
        window.done = true;
      })().catch((e) => { window.failed = String(e && e.stack || e); });
    </script>`,
    '/rudderstack.html': rudderstackPage('browser-rs-user', 'team', ''),
    // sendBeacon mode posts text/plain batches to /beacon/v1/batch?writeKey=…
    '/rudderstack-beacon.html': rudderstackPage('browser-rs-beacon-user', 'beacon', "useBeacon: true, beaconQueueOptions: { maxItems: 3, flushQueueInterval: 200 },"),
  };
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (pages[path]) {
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><html><body>${pages[path]}</body></html>`);
      return;
    }
    const file = path.startsWith('/ajs/') ? join(ajsDir, normalize(path.slice(5))) : path === '/rs/index.js' ? rsBundle : undefined;
    if (!file || !file.startsWith(ajsDir) && file !== rsBundle || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/javascript' }).end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, origin: `http://127.0.0.1:${(server.address() as { port: number }).port}` })));
}

async function profileOf(base: string, ref: string, events: number): Promise<{ eventCount: number; traits: Record<string, unknown> }> {
  for (let i = 0; i < 200; i++) {
    const r = await fetch(`${base}/v1/profiles/${ref}`, { headers: { authorization: `Bearer ${API_TOKEN}` } });
    if (r.status === 200) {
      const p = (await r.json()) as { eventCount: number; traits: Record<string, unknown> };
      if (p.eventCount >= events) return p;
    }
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`no profile ${ref} with ${events} events`);
}

test('analytics.js and RudderStack JS (XHR and beacon) in Chromium send to Mosaic with only host and write key changed', { skip, timeout: 60_000 }, async (t) => {
  const m = await startMosaic({ processor: { mode: 'thread' } });
  let browser: Browser | undefined;
  let pages: Server | undefined;
  try {
    await m.app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(m.app.server.address() as { port: number }).port}`;
    const { server, origin } = await pageServer(base);
    pages = server;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });

    const plans = { segment: 'pro', rudderstack: 'team', 'rudderstack-beacon': 'beacon' };
    for (const [sdk, user] of [['segment', 'browser-ajs-user'], ['rudderstack', 'browser-rs-user'], ['rudderstack-beacon', 'browser-rs-beacon-user']] as const) {
      await t.test(sdk, async () => {
        const page = await browser!.newPage();
        const failedRequests: string[] = [];
        page.on('requestfailed', (r) => failedRequests.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
        page.on('response', (r) => {
          if (r.url().startsWith(base) && r.status() >= 400) failedRequests.push(`${r.request().method()} ${r.url()}: ${r.status()}`);
        });
        await page.goto(`${origin}/${sdk}.html`);
        await page.waitForFunction('window.done || window.failed', undefined, { timeout: 20_000 });
        assert.equal(await page.evaluate('window.failed'), undefined);
        const p = await profileOf(base, `user_id:${user}`, 2);
        assert.equal(p.traits.plan, plans[sdk]);
        const all = await profileOf(base, `user_id:${user}`, 3);
        assert.ok(all.eventCount >= 3, `page, identify and track arrived (${all.eventCount})`);
        assert.deepEqual(failedRequests.filter((f) => !f.includes('/none/')), []);
        await page.close();
      });
    }
    // The SDKs used the paths their source says they use.
    const metrics = await (await fetch(`${base}/metrics`)).text();
    for (const route of ['/v1/projects/:writeKey/settings', '/v1/p', '/v1/i', '/v1/t', '/sourceConfig', '/v1/page', '/v1/identify', '/v1/track', '/beacon/v1/batch']) {
      assert.match(metrics, new RegExp(`^mosaic_http_requests_total\\{route="${route.replaceAll('/', '\\/')}",status="200"\\} [1-9]`, 'm'), route);
    }
  } finally {
    await browser?.close();
    pages?.close();
    await m.cleanup();
  }
});
