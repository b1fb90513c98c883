import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openGeoLookup } from '../../src/adapters/mmdb/geo-lookup.js';

test('the ip-location-db country database (a dev dependency) maps public addresses to countries', () => {
  const geo = openGeoLookup(undefined);
  assert.ok(geo, 'installed as a devDependency');
  assert.match(geo.source, /geo-whois-asn-country\.mmdb$/);
  assert.equal(geo.lookup('8.8.8.8')?.country, 'US');
  assert.equal(geo.lookup('2001:4860:4860::8888')?.country, 'US');
  assert.equal(geo.lookup('127.0.0.1'), undefined);
  assert.equal(geo.lookup('not an ip'), undefined);
});

test('a configured database that does not exist fails loudly at start', () => {
  assert.throws(() => openGeoLookup('/nonexistent/GeoLite2-City.mmdb'), /ENOENT/);
});
