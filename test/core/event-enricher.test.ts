import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEnricher } from '../../src/core/event-enricher.js';
import type { GeoLookup } from '../../src/ports/geo.js';
import { env } from '../helpers.js';

const ANDROID_CHROME = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36';
const MAC_FIREFOX = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:132.0) Gecko/20100101 Firefox/132.0';

test('user agent becomes browser, OS and device type; desktops are called desktop', () => {
  const en = new EventEnricher({ userAgent: true, localTime: false });
  const phone = env({ type: 'page', anonymousId: 'a', context: { userAgent: ANDROID_CHROME } });
  en.enrich(phone);
  assert.deepEqual(phone.enriched, { browser: 'Chrome', browserVersion: '131.0.0.0', os: 'Android', osVersion: '14', deviceType: 'mobile', deviceVendor: 'Google' });
  const mac = env({ type: 'page', anonymousId: 'a', context: { userAgent: MAC_FIREFOX } });
  en.enrich(mac);
  assert.equal(mac.enriched!.browser, 'Firefox');
  assert.equal(mac.enriched!.os, 'Mac OS');
  assert.equal(mac.enriched!.deviceType, 'desktop');
});

test('local time follows context.timezone; an unknown zone is skipped, not an error', () => {
  const en = new EventEnricher({ userAgent: false, localTime: true });
  const e = env({ type: 'track', event: 'x', anonymousId: 'a', timestamp: '2026-11-21T23:30:00.000Z', context: { timezone: 'Europe/Paris' } });
  en.enrich(e);
  assert.deepEqual(e.enriched, { localHour: 0, localDayOfWeek: 0, localDate: '2026-11-22' }); // Sunday 00:30 in Paris
  const bad = env({ type: 'track', event: 'x', anonymousId: 'a', context: { timezone: 'Mars/Olympus' } });
  en.enrich(bad);
  assert.equal(bad.enriched, undefined);
});

test('geo: IP to country and region, looked up once per address', () => {
  let calls = 0;
  const geo: GeoLookup = { source: 'fake', lookup: (ip) => (calls++, ip === '192.0.2.1' ? { country: 'FR', region: 'IDF' } : undefined) };
  const en = new EventEnricher({ userAgent: false, localTime: false, geo });
  for (let i = 0; i < 3; i++) {
    const e = env({ type: 'page', anonymousId: 'a', context: { ip: '192.0.2.1' } });
    en.enrich(e);
    assert.deepEqual(e.enriched, { country: 'FR', region: 'IDF' });
  }
  const unknown = env({ type: 'page', anonymousId: 'a', context: { ip: '198.51.100.9' } });
  en.enrich(unknown);
  en.enrich(env({ type: 'page', anonymousId: 'a', context: { ip: '198.51.100.9' } }));
  assert.equal(unknown.enriched, undefined);
  assert.equal(calls, 2, 'cached, misses included');
});
