import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Envelope } from '../../src/core/envelope.js';
import { ALWAYS_PERSONAL_PATHS } from '../../src/core/consent.js';
import { ConsentGate, lakeAdmission } from '../../src/privacy/consent-gate.js';
import { Metrics } from '../../src/observe/metrics.js';
import { env, MemoryProfiles } from '../helpers.js';

const consent = (prefs: Record<string, boolean>) => ({ consent: { categoryPreferences: prefs } });

async function seeded() {
  const p = new MemoryProfiles();
  await p.apply([
    env({ type: 'identify', userId: 'ann', anonymousId: 'ann-phone', timestamp: '2026-01-01T00:00:00.000Z', context: consent({ analytics: false }) }),
    env({ type: 'identify', userId: 'bob', timestamp: '2026-01-01T00:00:00.000Z' }),
  ]);
  return p;
}

test('the consent gate: an event stating consent is taken at its word; others follow their profile (any of its identifiers), else the default', async () => {
  const p = await seeded();
  const batch = [
    env({ type: 'track', event: 'A', userId: 'ann' }),
    env({ type: 'track', event: 'B', anonymousId: 'ann-phone' }), // the same person through another identifier
    env({ type: 'track', event: 'C', userId: 'bob' }),
    env({ type: 'track', event: 'D', anonymousId: 'stranger' }),
    env({ type: 'track', event: 'E', userId: 'ann', context: consent({ analytics: true }) }),
    env({ type: 'track', event: 'F', userId: 'bob', context: consent({ analytics: false }) }),
  ];
  assert.deepEqual(await new ConsentGate(p.store, p.rules, {}).allows('analytics', batch), [false, false, true, true, true, false]);
  assert.deepEqual(await new ConsentGate(p.store, p.rules, { consentDefault: 'denied' }).allows('analytics', batch), [false, false, false, false, true, false]);
  assert.deepEqual(await new ConsentGate(p.store, p.rules, {}).allows('marketing', batch), [true, true, true, true, true, true], 'another purpose: nothing recorded, granted by default');
  assert.deepEqual(await new ConsentGate(p.store, p.rules, {}).allows('analytics', []), []);
});

test('the lake admission drops, or anonymizes, the events without analytics consent, and counts them', async () => {
  const p = await seeded();
  const gate = new ConsentGate(p.store, p.rules, {});
  const events: Envelope[] = [
    env({ type: 'track', event: 'Viewed', userId: 'ann', properties: { sku: 'S1' }, context: { ip: '203.0.113.9' } }),
    env({ type: 'track', event: 'Viewed', userId: 'bob', properties: { sku: 'S2' } }),
  ];
  const entries = events.map((e, i) => ({ partition: 0, offset: i + 1, receivedAtMs: 0, payload: JSON.stringify(e) }));
  const metrics = new Metrics();

  const dropped = await lakeAdmission(gate, { mode: 'drop', personalPaths: ALWAYS_PERSONAL_PATHS, metrics }).admit(entries);
  assert.deepEqual(dropped, [entries[1]]);

  const anonymized = await lakeAdmission(gate, { mode: 'anonymize', personalPaths: ALWAYS_PERSONAL_PATHS, metrics }).admit(entries);
  assert.equal(anonymized.length, 2);
  assert.equal(anonymized[1], entries[1], 'a consenting person’s event is kept as it is');
  assert.equal(anonymized[0]!.offset, 1);
  const kept = JSON.parse(anonymized[0]!.payload) as Envelope;
  assert.deepEqual([kept.event, kept.userId, kept.properties, kept.context], ['Viewed', undefined, { sku: 'S1' }, {}]);

  const text = await metrics.registry.metrics();
  assert.match(text, /^mosaic_events_without_consent_total\{purpose="analytics",action="dropped"\} 1$/m);
  assert.match(text, /^mosaic_events_without_consent_total\{purpose="analytics",action="anonymized"\} 1$/m);
});

test('the consent gate: a statement holds for the person’s later events at once, though their profile is read from a cache', async () => {
  const p = await seeded();
  let now = 1_000_000;
  const gate = new ConsentGate(p.store, p.rules, {}, () => now);
  assert.deepEqual(await gate.allows('analytics', [env({ type: 'track', event: 'A', userId: 'bob' })]), [true]);
  // Bob withdraws (the processor applies it), then acts through another identifier of his profile.
  await p.apply([env({ type: 'identify', userId: 'bob', anonymousId: 'bob-phone' })]);
  const later = [
    env({ type: 'track', event: 'Consent', userId: 'bob', context: consent({ analytics: false }) }),
    env({ type: 'track', event: 'B', userId: 'bob' }),
  ];
  assert.deepEqual(await gate.allows('analytics', later), [false, false]);
  assert.deepEqual(await gate.allows('analytics', [env({ type: 'track', event: 'C', anonymousId: 'bob-phone' })]), [false], 'the same profile by another identifier');
  // A change made behind the gate's back (here: straight to the store) is seen once the cache expires.
  await p.apply([env({ type: 'track', event: 'Consent', userId: 'bob', context: consent({ analytics: true }), timestamp: '2030-01-01T00:00:00.000Z' })]);
  assert.deepEqual(await gate.allows('analytics', [env({ type: 'track', event: 'D', userId: 'bob' })]), [false], 'cached');
  now += 10_001;
  assert.deepEqual(await gate.allows('analytics', [env({ type: 'track', event: 'D', userId: 'bob' })]), [true], 'read again');
});

test('the consent gate lets the lake and destinations read only what the processor has applied', async () => {
  const p = await seeded();
  const gate = new ConsentGate(p.store, p.rules, {});
  assert.deepEqual(await gate.readable([5, 7]), [1, 1], 'nothing applied yet: nothing readable');
  await p.store.commit({ offsets: new Map([[0, 4]]) });
  assert.deepEqual(await gate.readable([5, 7]), [4, 1]);
  await p.store.commit({ offsets: new Map([[0, 9], [1, 3]]) });
  assert.deepEqual(await gate.readable([5, 7]), [5, 3], 'never past the log’s end');
});

test('the consent gate learns from events it is not asked about (a destination that forwards only some events still hears consent change)', async () => {
  const p = await seeded();
  const gate = new ConsentGate(p.store, p.rules, {});
  assert.deepEqual(await gate.allows('marketing', [env({ type: 'track', event: 'Order Completed', userId: 'bob' })]), [true]);
  const read = [
    env({ type: 'track', event: 'Order Completed', userId: 'bob' }),
    env({ type: 'track', event: 'Segment Consent Preference Updated', userId: 'bob', context: consent({ marketing: false }) }),
    env({ type: 'page', userId: 'ann' }),
    env({ type: 'track', event: 'Order Completed', userId: 'bob' }),
  ];
  assert.deepEqual(await gate.allows('marketing', read, [true, false, false, true]), [true, false, true, false], 'before the statement, and after it');
});

test('the lake admission judges a step longer than its slice whole and in order, and a statement in one slice holds in the next', async () => {
  const p = await seeded();
  const gate = new ConsentGate(p.store, p.rules, {});
  const n = 12_345; // more than two slices
  const events = Array.from({ length: n }, (_, i) =>
    i === 7 ? env({ type: 'track', event: 'Consent', userId: 'bob', context: consent({ analytics: false }) }) : env({ type: 'track', event: 'Viewed', userId: i % 2 ? 'bob' : 'carol' }),
  );
  const entries = events.map((e, i) => ({ partition: 0, offset: i + 1, receivedAtMs: 0, payload: JSON.stringify(e) }));
  const kept = await lakeAdmission(gate, { mode: 'drop', personalPaths: ALWAYS_PERSONAL_PATHS }).admit(entries);
  const expected = entries.filter((_, i) => i < 7 || (i !== 7 && i % 2 === 0));
  assert.equal(kept.length, expected.length);
  assert.deepEqual(
    kept.map((e) => e.offset),
    expected.map((e) => e.offset),
  );
});
