import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Envelope } from '../../src/core/envelope.js';
import { applyEvent, emptyProfile, toPublicProfile } from '../../src/core/profile.js';
import { anchorOf, env, reduceInBatches } from '../helpers.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1);
const model = { sessions: { timeoutMs: 30 * MIN, retainMs: 90 * 86_400_000 } };
const at = (minutes: number) => new Date(T0 + minutes * MIN).toISOString();
const page = (minutes: number, path: string, context: Record<string, unknown> = {}) => env({ type: 'page', anonymousId: 'a', timestamp: at(minutes), properties: { path }, context });

test('sessions split on 30 minutes of inactivity, with landing page, source and attribution', () => {
  const doc = emptyProfile();
  const events = [
    page(0, '/', { page: { referrer: 'https://www.google.com/' }, campaign: { name: 'spring', source: 'google' } }),
    page(10, '/shoes'),
    env({ type: 'track', anonymousId: 'a', event: 'Added', timestamp: at(25) }),
    page(120, '/hats', { page: { referrer: 'https://news.example/' } }),
    page(130, '/checkout'),
  ];
  for (const e of events.reverse()) applyEvent(doc, e, model); // arrival order does not matter
  const s = toPublicProfile(doc, model).sessions;
  assert.equal(s.count, 2);
  assert.equal(s.totalDurationSeconds, 25 * 60 + 10 * 60);
  assert.equal(s.averageEventsPerSession, 2.5);
  assert.deepEqual(s.firstTouch, { at: at(0), referrer: 'https://www.google.com/', referrerType: null, campaign: { name: 'spring', source: 'google' } });
  assert.deepEqual(s.lastTouch, { at: at(120), referrer: 'https://news.example/', referrerType: null, campaign: null });
  assert.deepEqual(s.recent.map((r) => [r.start, r.end, r.events, r.pageViews, r.landingPage]), [
    [at(120), at(130), 2, 2, '/hats'],
    [at(0), at(25), 3, 2, '/'],
  ]);
});

test('an event arriving late can bridge two sessions into one', () => {
  const doc = emptyProfile();
  for (const m of [0, 50]) applyEvent(doc, page(m, `/${m}`), model);
  assert.equal(toPublicProfile(doc, model).sessions.count, 2);
  applyEvent(doc, page(25, '/25'), model);
  const s = toPublicProfile(doc, model).sessions;
  assert.equal(s.count, 1);
  assert.equal(s.totalDurationSeconds, 50 * 60);
});

test('sessions older than the retention are summarised, still counted', () => {
  const short = { sessions: { timeoutMs: 30 * MIN, retainMs: 24 * 60 * MIN } };
  const doc = emptyProfile();
  applyEvent(doc, page(0, '/a'), short);
  applyEvent(doc, page(10, '/b'), short);
  applyEvent(doc, page(3 * 24 * 60, '/c'), short);
  const s = toPublicProfile(doc, short).sessions;
  assert.equal(s.count, 2);
  assert.equal(s.totalDurationSeconds, 600);
  assert.deepEqual(s.recent.map((r) => r.landingPage), ['/c'], 'only retained sessions are listed');
  assert.equal(doc.sessions!.list.length, 1);
});

test('property: sessions are independent of order, batching and merges, and equal a direct clustering', async () => {
  const ev = fc.record({
    anon: fc.constantFrom('a1', 'a2', 'a3'),
    user: fc.option(fc.constantFrom('u1', 'u2'), { nil: undefined }),
    minute: fc.integer({ min: 0, max: 400 }),
    type: fc.constantFrom('page', 'track'),
    ref: fc.constantFrom(undefined, 'https://a.example/', 'https://b.example/'),
    path: fc.constantFrom('/', '/x', '/y'),
  });
  await fc.assert(
    fc.asyncProperty(fc.array(ev, { minLength: 1, maxLength: 35 }), fc.nat(), fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 }), async (raw, seed, cuts) => {
      const events = raw.map(
        (r, i) =>
          ({
            type: r.type,
            ...(r.type === 'track' ? { event: 'E' } : { properties: { path: r.path } }),
            anonymousId: r.anon,
            userId: r.user,
            timestamp: at(r.minute),
            messageId: `m${String(i).padStart(3, '0')}`,
            receivedAt: '',
            sourceId: 's',
            context: r.ref ? { page: { referrer: r.ref } } : {},
          }) as Envelope,
      );
      const run = (evs: readonly Envelope[], c: number[]) => reduceInBatches(evs, c, model);
      const want = await run(events, [events.length]);
      const shuffled = fc.sample(fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }), { seed, numRuns: 1 })[0]!;
      assert.deepEqual((await run(shuffled, cuts)).map((d) => toPublicProfile(d, model).sessions), want.map((d) => toPublicProfile(d, model).sessions));

      // Reference: sort the profile's events and cut wherever the gap exceeds 30 minutes.
      for (const doc of want) {
        const mine = events
          .filter((e) => doc.identities.includes(anchorOf(e)))
          .sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp) || (a.messageId < b.messageId ? -1 : 1));
        const runs: Envelope[][] = [];
        for (const e of mine) {
          const last = runs[runs.length - 1];
          if (last && Date.parse(e.timestamp) - Date.parse(last[last.length - 1]!.timestamp) <= 30 * MIN) last.push(e);
          else runs.push([e]);
        }
        const s = toPublicProfile(doc, model).sessions;
        assert.equal(s.count, runs.length);
        assert.equal(s.totalDurationSeconds, runs.reduce((a, r) => a + (Date.parse(r[r.length - 1]!.timestamp) - Date.parse(r[0]!.timestamp)) / 1000, 0));
        const ref = (e: Envelope) => ((e.context as { page?: { referrer?: string } }).page?.referrer ?? null);
        assert.equal(s.firstTouch?.referrer ?? null, ref(mine[0]!));
        assert.equal(s.lastTouch?.referrer ?? null, ref(runs[runs.length - 1]![0]!));
        assert.deepEqual(
          s.recent.map((r) => [r.events, r.pageViews, r.landingPage]),
          runs.slice(-5).reverse().map((r) => [r.length, r.filter((e) => e.type === 'page').length, (r.find((e) => e.type === 'page')?.properties?.path as string | undefined) ?? null]),
        );
      }
    }),
    { numRuns: 300 },
  );
});

test('with enrichment on, a session source gets a referrer type and a campaign from the URL', () => {
  const enriched = { sessions: { ...model.sessions, campaignFromUrl: true, referrerType: true } };
  const doc = emptyProfile();
  applyEvent(doc, page(0, '/', { page: { url: 'https://shop.example/?utm_source=news&utm_medium=email&utm_campaign=fall', referrer: 'https://mail.google.com/' } }), enriched);
  applyEvent(doc, page(120, '/x', { page: { url: 'https://shop.example/x', referrer: 'https://www.bing.com/search?q=shoes' } }), enriched);
  const s = toPublicProfile(doc, enriched).sessions;
  assert.deepEqual(s.firstTouch, { at: at(0), referrer: 'https://mail.google.com/', referrerType: 'email', campaign: { name: 'fall', source: 'news', medium: 'email' } });
  assert.deepEqual(s.lastTouch, { at: at(120), referrer: 'https://www.bing.com/search?q=shoes', referrerType: 'search', campaign: null });
});
