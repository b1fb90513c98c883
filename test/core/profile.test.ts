import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { reduceBatch, toPublicProfile, type ProfileDoc } from '../../src/core/profile.js';
import type { Envelope } from '../../src/core/envelope.js';
import { env } from '../helpers.js';

/** An in-memory graph that commits like the real store: the reference for the reducer. */
class MemoryGraph {
  owners = new Map<string, string>();
  docs = new Map<string, ProfileDoc>();

  apply(events: readonly Envelope[]): void {
    const changes = reduceBatch(events, { profileOf: (k) => this.owners.get(k), load: (id) => structuredClone(this.docs.get(id)) });
    for (const id of changes.deletes) this.docs.delete(id);
    for (const doc of changes.upserts.values()) this.docs.set(doc.id, structuredClone(doc));
    for (const [k, id] of changes.identities) this.owners.set(k, id);
  }

  byKey(key: string) {
    const id = this.owners.get(key);
    return id ? toPublicProfile(this.docs.get(id)!) : undefined;
  }

  /** Every profile, in a canonical order, as the API would show them. */
  snapshot() {
    return [...this.docs.values()].map((d) => toPublicProfile(d)).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** Invariants: every identity of every doc points back at that doc; no dangling owner. */
  check() {
    for (const doc of this.docs.values()) for (const k of doc.identities) assert.equal(this.owners.get(k), doc.id, `${k} should point at ${doc.id}`);
    for (const [k, id] of this.owners) assert.ok(this.docs.get(id)?.identities.includes(k), `${k} points at missing/foreign ${id}`);
  }
}

test('anonymous events then identify stitch into one profile', () => {
  const g = new MemoryGraph();
  g.apply([env({ type: 'page', anonymousId: 'a1' }), env({ type: 'track', anonymousId: 'a1', event: 'Viewed' })]);
  g.apply([env({ type: 'identify', anonymousId: 'a1', userId: 'u1', traits: { plan: 'free' } })]);
  g.check();
  const p = g.byKey('user_id:u1')!;
  assert.deepEqual(p.identities, [{ type: 'user_id', id: 'u1' }, { type: 'anonymous_id', id: 'a1' }]);
  assert.equal(p.eventCount, 3);
  assert.deepEqual(p.eventCounts, { Viewed: 1 });
  assert.deepEqual(p.typeCounts, { page: 1, track: 1, identify: 1 });
  assert.deepEqual(p.traits, { plan: 'free' });
  assert.deepEqual(g.byKey('anonymous_id:a1'), p);
  assert.equal(g.docs.size, 1);
});

test('two profiles merge when an event carries both of their identities, counts stay exact', () => {
  const g = new MemoryGraph();
  g.apply([env({ type: 'track', anonymousId: 'a1', event: 'A' }), env({ type: 'track', anonymousId: 'a1', event: 'A' })]);
  g.apply([env({ type: 'track', userId: 'u1', event: 'B' })]);
  assert.equal(g.docs.size, 2);
  g.apply([env({ type: 'track', userId: 'u1', anonymousId: 'a1', event: 'C' })]);
  g.check();
  assert.equal(g.docs.size, 1);
  const p = g.byKey('anonymous_id:a1')!;
  assert.equal(p.eventCount, 4);
  assert.deepEqual(p.eventCounts, { A: 2, B: 1, C: 1 });
});

test('merge chains: A-B, C-D, then B-C make one profile', () => {
  const g = new MemoryGraph();
  g.apply([env({ type: 'track', anonymousId: 'A', userId: 'B', event: 'x' })]);
  g.apply([env({ type: 'track', anonymousId: 'C', userId: 'D', event: 'x' })]);
  g.apply([env({ type: 'alias', userId: 'D', previousId: 'B' })]);
  g.check();
  assert.equal(g.docs.size, 1);
  assert.equal(g.byKey('anonymous_id:A')!.id, g.byKey('anonymous_id:C')!.id);
});

test('alias links previousId whether it arrives before or after the previous id is seen', () => {
  for (const order of [0, 1]) {
    const g = new MemoryGraph();
    const alias = env({ type: 'alias', userId: 'new', previousId: 'old-anon' });
    const before = env({ type: 'page', anonymousId: 'old-anon' });
    g.apply(order === 0 ? [alias, before] : [before, alias]);
    g.check();
    assert.equal(g.docs.size, 1, `order ${order}`);
    const p = g.byKey('user_id:new')!;
    assert.deepEqual(p.identities, [{ type: 'user_id', id: 'new' }, { type: 'anonymous_id', id: 'old-anon' }]);
  }
});

test('traits are last-write-wins by event time, not arrival', () => {
  const g = new MemoryGraph();
  g.apply([env({ type: 'identify', userId: 'u', timestamp: '2026-01-02T00:00:00.000Z', traits: { plan: 'pro', city: 'Paris' } })]);
  g.apply([env({ type: 'identify', userId: 'u', timestamp: '2026-01-01T00:00:00.000Z', traits: { plan: 'free', age: 30 } })]);
  assert.deepEqual(g.byKey('user_id:u')!.traits, { age: 30, city: 'Paris', plan: 'pro' });
  assert.equal(g.byKey('user_id:u')!.firstSeen, '2026-01-01T00:00:00.000Z');
  assert.equal(g.byKey('user_id:u')!.lastSeen, '2026-01-02T00:00:00.000Z');
});

test('identify traits win over context.traits of the same event; track context.traits apply', () => {
  const g = new MemoryGraph();
  g.apply([
    env({ type: 'identify', userId: 'u', traits: { plan: 'pro' }, context: { traits: { plan: 'stale', email: 'e@x' } } }),
    env({ type: 'track', userId: 'u', event: 'e', timestamp: '2020-01-01T00:00:00.000Z', context: { traits: { tz: 'UTC' } } }),
  ]);
  assert.deepEqual(g.byKey('user_id:u')!.traits, { email: 'e@x', plan: 'pro', tz: 'UTC' });
});

test('group traits are not user traits', () => {
  const g = new MemoryGraph();
  g.apply([env({ type: 'group', userId: 'u', groupId: 'g1', traits: { name: 'ACME' } })]);
  assert.deepEqual(g.byKey('user_id:u')!.traits, {});
});

// --- property: the final profiles do not depend on arrival order or batching ---

const ids = fc.constantFrom('u1', 'u2', 'u3');
const anons = fc.constantFrom('a1', 'a2', 'a3', 'a4', 'a5');
const time = fc.integer({ min: 0, max: 50 }).map((s) => new Date(Date.UTC(2026, 0, 1) + s * 1000).toISOString());
const traitVal = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom('x', 'y', null));

const eventArb = fc.oneof(
  fc.record({ type: fc.constant('track' as const), event: fc.constantFrom('A', 'B'), userId: fc.option(ids, { nil: undefined }), anonymousId: anons, timestamp: time }),
  fc.record({ type: fc.constant('identify' as const), userId: ids, anonymousId: fc.option(anons, { nil: undefined }), timestamp: time, traits: fc.dictionary(fc.constantFrom('plan', 'city', 'age'), traitVal, { maxKeys: 2 }) }),
  fc.record({ type: fc.constant('page' as const), anonymousId: anons, timestamp: time, context: fc.record({ traits: fc.dictionary(fc.constantFrom('plan', 'tz'), traitVal, { maxKeys: 1 }) }) }),
  fc.record({ type: fc.constant('alias' as const), userId: ids, previousId: fc.oneof(ids, anons), timestamp: time }),
);

test('property: shuffled arrival and random batching give identical profiles', () => {
  fc.assert(
    fc.property(
      fc.array(eventArb, { minLength: 1, maxLength: 40 }).map((evs) => evs.map((e, i) => ({ ...e, messageId: `m${i}`, receivedAt: e.timestamp, sourceId: 's' }) as Envelope)),
      fc.array(fc.nat(), { minLength: 3, maxLength: 3 }),
      fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 10 }),
      (events, seeds, cuts) => {
        const reference = new MemoryGraph();
        reference.apply(events);
        reference.check();
        const want = reference.snapshot();
        for (const seed of seeds) {
          const shuffled = fc.sample(fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }), { seed, numRuns: 1 })[0]!;
          const g = new MemoryGraph();
          let at = 0;
          let c = 0;
          while (at < shuffled.length) {
            const n = cuts[c++ % cuts.length]!;
            g.apply(shuffled.slice(at, at + n));
            at += n;
          }
          g.check();
          assert.deepEqual(g.snapshot(), want);
        }
      },
    ),
    { numRuns: 300 },
  );
});
