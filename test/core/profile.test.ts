import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { typeOf } from '../../src/core/identity.js';
import type { Envelope } from '../../src/core/envelope.js';
import { toPublicProfile, type ProfileDoc } from '../../src/core/profile.js';
import { env, MemoryProfiles, TEST_RULES } from '../helpers.js';

async function withGraph(fn: (g: MemoryProfiles) => Promise<void>) {
  const g = new MemoryProfiles();
  try {
    await fn(g);
    await g.check();
  } finally {
    await g.close();
  }
}

const ids = (p: { identities: { type: string; id: string }[] } | undefined) => p?.identities.map((i) => `${i.type}:${i.id}`);

test('anonymous events then identify stitch into one profile', () =>
  withGraph(async (g) => {
    await g.apply([env({ type: 'page', anonymousId: 'a1' }), env({ type: 'track', anonymousId: 'a1', event: 'Viewed' })]);
    await g.apply([env({ type: 'identify', anonymousId: 'a1', userId: 'u1', traits: { plan: 'free' } })]);
    const p = (await g.byKey('user_id:u1'))!;
    assert.deepEqual(ids(p), ['user_id:u1', 'anonymous_id:a1']);
    assert.equal(p.eventCount, 3);
    assert.deepEqual(p.eventCounts, { Viewed: 1 });
    assert.deepEqual(p.typeCounts, { page: 1, track: 1, identify: 1 });
    assert.deepEqual(p.traits, { plan: 'free' });
    assert.deepEqual(await g.byKey('anonymous_id:a1'), p);
    assert.equal((await g.docs()).length, 1);
  }));

test('scenario: anonymous browsing, signup, login on a second device: one profile, two anonymous ids, one user id', () =>
  withGraph(async (g) => {
    await g.apply([env({ type: 'page', anonymousId: 'laptop' }), env({ type: 'track', anonymousId: 'laptop', event: 'Product Viewed' })]);
    await g.apply([env({ type: 'identify', anonymousId: 'laptop', userId: 'alice', traits: { email: 'Alice@Example.com ' } })]);
    await g.apply([env({ type: 'page', anonymousId: 'phone' }), env({ type: 'identify', anonymousId: 'phone', userId: 'alice' })]);
    await g.apply([env({ type: 'track', anonymousId: 'phone', userId: 'alice', event: 'Order Completed' })]);
    const docs = await g.docs();
    assert.equal(docs.length, 1);
    const p = (await g.byKey('user_id:alice'))!;
    const email = TEST_RULES.keyFor('email', 'alice@example.com')!;
    assert.deepEqual(ids(p)!.sort(), ['anonymous_id:laptop', 'anonymous_id:phone', email, 'user_id:alice'].sort());
    assert.equal(p.eventCount, 6);
    // The address is a graph node only pseudonymized; the same address however it is written finds the profile.
    assert.ok(!email.includes('alice'));
    assert.equal((await g.byKey(TEST_RULES.keyFor('email', '  ALICE@example.COM')!))?.id, p.id);
  }));

test('scenario: two users on one shared laptop stay two profiles; the refused merge is recorded', () =>
  withGraph(async (g) => {
    await g.apply([env({ type: 'page', anonymousId: 'shared' }), env({ type: 'identify', anonymousId: 'shared', userId: 'bob' })]);
    await g.apply([env({ type: 'identify', anonymousId: 'shared', userId: 'carol' }), env({ type: 'track', anonymousId: 'shared', userId: 'carol', event: 'Bought' })]);
    const bob = (await g.byKey('user_id:bob'))!;
    const carol = (await g.byKey('user_id:carol'))!;
    assert.notEqual(bob.id, carol.id);
    assert.deepEqual(ids(bob), ['user_id:bob', 'anonymous_id:shared']);
    assert.deepEqual(ids(carol), ['user_id:carol']);
    // Carol's events land on Carol, though they carry the shared anonymous id.
    assert.deepEqual(carol.eventCounts, { Bought: 1 });
    assert.equal(carol.eventCount, 2);
    assert.equal(bob.eventCount, 2);
    const cluster = (await g.store.findCluster('user_id:carol'))!;
    const conflict = cluster.lineage.find((l) => l.kind === 'conflict')!;
    assert.deepEqual(conflict.dropped, [{ key: 'anonymous_id:shared', profile: bob.id, rule: 'at most 1 user_id per profile' }]);
    assert.ok((await g.store.findCluster('user_id:bob'))!.lineage.some((l) => l.kind === 'conflict'), 'both profiles record the refused merge');
  }));

test('merge chains: A-B, C-D, then B-C make one profile, with lineage naming the event', () =>
  withGraph(async (g) => {
    await g.apply([env({ type: 'track', anonymousId: 'A', context: { device: { id: 'B' } }, event: 'x' })]);
    await g.apply([env({ type: 'track', anonymousId: 'C', context: { device: { id: 'D' } }, event: 'x' })]);
    const left = (await g.byKey('device_id:B'))!.id;
    const right = (await g.byKey('device_id:D'))!.id;
    const bridge = env({ type: 'track', anonymousId: 'C', context: { device: { id: 'B' } }, event: 'y' });
    await g.apply([bridge]);
    const docs = await g.docs();
    assert.equal(docs.length, 1);
    assert.equal(docs[0]!.eventCount, 3);
    const merge = (await g.store.findCluster('anonymous_id:A'))!.lineage.filter((l) => l.kind === 'merge').pop()!;
    assert.equal(merge.messageId, bridge.messageId);
    assert.deepEqual(merge.profiles!.sort(), [left, right].filter((p) => p !== docs[0]!.id).sort());
  }));

test('alias links previousId whether it arrives before or after the previous id is seen', async () => {
  for (const order of [0, 1]) {
    const g = new MemoryProfiles();
    const alias = env({ type: 'alias', userId: 'new', previousId: 'old-anon' });
    const before = env({ type: 'page', anonymousId: 'old-anon' });
    await g.apply(order === 0 ? [alias, before] : [before, alias]);
    await g.check();
    assert.equal((await g.docs()).length, 1, `order ${order}`);
    assert.deepEqual(ids(await g.byKey('user_id:new')), ['user_id:new', 'anonymous_id:old-anon']);
    await g.close();
  }
});

test('a late event that would have been refused splits a merge made before it arrived', () =>
  withGraph(async (g) => {
    // Arrival order: carol's login (t=2) first, then bob's (t=1). By event time bob came first.
    await g.apply([env({ type: 'identify', anonymousId: 'shared', userId: 'carol', timestamp: '2026-01-01T00:00:02.000Z' })]);
    await g.apply([env({ type: 'page', anonymousId: 'shared', timestamp: '2026-01-01T00:00:03.000Z' })]);
    assert.equal((await g.byKey('anonymous_id:shared'))!.id, (await g.byKey('user_id:carol'))!.id);
    await g.apply([env({ type: 'identify', anonymousId: 'shared', userId: 'bob', timestamp: '2026-01-01T00:00:01.000Z' })]);
    const bob = (await g.byKey('user_id:bob'))!;
    assert.deepEqual(ids(bob), ['user_id:bob', 'anonymous_id:shared']);
    assert.equal(bob.eventCount, 2, "bob's login and the anonymous page view");
    assert.equal((await g.byKey('user_id:carol'))!.eventCount, 1);
  }));

test('traits are last-write-wins by event time, not arrival', () =>
  withGraph(async (g) => {
    await g.apply([env({ type: 'identify', userId: 'u', timestamp: '2026-01-02T00:00:00.000Z', traits: { plan: 'pro', city: 'Paris' } })]);
    await g.apply([env({ type: 'identify', userId: 'u', timestamp: '2026-01-01T00:00:00.000Z', traits: { plan: 'free', age: 30 } })]);
    const p = (await g.byKey('user_id:u'))!;
    assert.deepEqual(p.traits, { age: 30, city: 'Paris', plan: 'pro' });
    assert.equal(p.firstSeen, '2026-01-01T00:00:00.000Z');
    assert.equal(p.lastSeen, '2026-01-02T00:00:00.000Z');
  }));

test('identify traits win over context.traits of the same event; track context.traits apply', () =>
  withGraph(async (g) => {
    await g.apply([
      env({ type: 'identify', userId: 'u', traits: { plan: 'pro' }, context: { traits: { plan: 'stale', email: 'e@x.io' } } }),
      env({ type: 'track', userId: 'u', event: 'e', timestamp: '2020-01-01T00:00:00.000Z', context: { traits: { tz: 'UTC' } } }),
    ]);
    assert.deepEqual((await g.byKey('user_id:u'))!.traits, { email: 'e@x.io', plan: 'pro', tz: 'UTC' });
  }));

test('group traits are not user traits, nor identifiers', () =>
  withGraph(async (g) => {
    await g.apply([env({ type: 'group', userId: 'u', groupId: 'g1', traits: { name: 'ACME', email: 'sales@acme.io' } })]);
    const p = (await g.byKey('user_id:u'))!;
    assert.deepEqual(p.traits, {});
    assert.deepEqual(ids(p), ['user_id:u']);
  }));

// --- property: the final profiles equal a reference model, whatever the arrival order and batching ---

/**
 * The reference, written as plainly as possible: take each distinct set of identifiers at its
 * first occurrence (event time, then messageId), join greedily in priority order while every
 * per-type limit holds; each event belongs to its highest-priority identifier's profile.
 */
function referenceProfiles(events: readonly Envelope[]) {
  const rules = TEST_RULES;
  const stamp = (e: Envelope) => [Date.parse(e.timestamp), e.messageId] as const;
  const before = (a: Envelope, b: Envelope) => stamp(a)[0] < stamp(b)[0] || (stamp(a)[0] === stamp(b)[0] && stamp(a)[1] < stamp(b)[1]);
  const firstBySet = new Map<string, Envelope>();
  const groupOf = new Map<string, Set<string>>();
  for (const e of events) {
    const nodes = rules.identifiersOf(e);
    for (const n of nodes) if (!groupOf.has(n)) groupOf.set(n, new Set([n]));
    const key = [...nodes].sort().join('|');
    const seen = firstBySet.get(key);
    if (nodes.length > 1 && (!seen || before(e, seen))) firstBySet.set(key, e);
  }
  for (const e of [...firstBySet.values()].sort((a, b) => (before(a, b) ? -1 : 1))) {
    const taken: Set<string>[] = [];
    for (const n of rules.identifiersOf(e)) {
      const g = groupOf.get(n)!;
      if (taken.includes(g)) continue;
      const all = [...taken.flatMap((t) => [...t]), ...g];
      const fits = [...new Set(all.map(typeOf))].every((type) => all.filter((k) => typeOf(k) === type).length <= rules.limitOf(type));
      if (fits) taken.push(g);
    }
    const union = new Set(taken.flatMap((t) => [...t]));
    for (const n of union) groupOf.set(n, union);
  }
  const out = new Map<Set<string>, { identities: string[]; eventCount: number; eventCounts: Record<string, number>; traits: Record<string, unknown> }>();
  for (const g of new Set(groupOf.values())) out.set(g, { identities: [...g].sort(), eventCount: 0, eventCounts: {}, traits: {} });
  const byTime = [...events].sort((a, b) => (before(a, b) ? -1 : 1));
  for (const e of byTime) {
    const p = out.get(groupOf.get(rules.identifiersOf(e)[0]!)!)!;
    p.eventCount++;
    if (e.type === 'track') p.eventCounts[e.event!] = (p.eventCounts[e.event!] ?? 0) + 1;
    Object.assign(p.traits, e.context?.traits ?? {}, e.type === 'identify' ? e.traits : {});
  }
  return [...out.values()].sort((a, b) => (a.identities.join() < b.identities.join() ? -1 : 1));
}

const shape = (docs: ProfileDoc[]) =>
  docs
    .map((d) => {
      const p = toPublicProfile(d);
      return { identities: d.identities.slice().sort(), eventCount: p.eventCount, eventCounts: p.eventCounts, traits: p.traits };
    })
    .sort((a, b) => (a.identities.join() < b.identities.join() ? -1 : 1));

const users = fc.constantFrom('u1', 'u2', 'u3');
const anons = fc.constantFrom('a1', 'a2', 'a3', 'a4', 'a5');
const emails = fc.constantFrom('e1@x.io', 'E1@x.io', 'e2@x.io');
const time = fc.integer({ min: 0, max: 50 }).map((s) => new Date(Date.UTC(2026, 0, 1) + s * 1000).toISOString());
const traitVal = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom('x', 'y', null));

const eventArb = fc.oneof(
  fc.record({ type: fc.constant('track' as const), event: fc.constantFrom('A', 'B'), userId: fc.option(users, { nil: undefined }), anonymousId: anons, timestamp: time }),
  fc.record({ type: fc.constant('identify' as const), userId: users, anonymousId: fc.option(anons, { nil: undefined }), timestamp: time, traits: fc.record({ plan: traitVal, email: emails }, { requiredKeys: [] }) }),
  fc.record({ type: fc.constant('page' as const), anonymousId: anons, timestamp: time, context: fc.record({ traits: fc.dictionary(fc.constantFrom('plan', 'tz'), traitVal, { maxKeys: 1 }) }) }),
  fc.record({ type: fc.constant('alias' as const), userId: users, previousId: anons, timestamp: time }),
);

test('property: any arrival order and batching give the reference model\'s profiles', async () => {
  const seen = { reclusters: 0, conflicts: 0, merges: 0 };
  await fc.assert(
    fc.asyncProperty(
      fc.array(eventArb, { minLength: 1, maxLength: 40 }).map((evs) => evs.map((e, i) => ({ ...e, messageId: `m${String(i).padStart(3, '0')}`, receivedAt: e.timestamp, sourceId: 's' }) as Envelope)),
      fc.nat(),
      fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 10 }),
      async (events, seed, cuts) => {
        const want = referenceProfiles(events);
        const shuffled = fc.sample(fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }), { seed, numRuns: 1 })[0]!;
        const g = new MemoryProfiles();
        try {
          for (let at = 0, c = 0; at < shuffled.length; ) {
            const n = cuts[c++ % cuts.length]!;
            const out = await g.apply(shuffled.slice(at, at + n));
            seen.reclusters += out.reclustered ? 1 : 0;
            seen.conflicts += out.conflicts;
            seen.merges += out.merges;
            at += n;
          }
          await g.check();
          const docs = await g.docs();
          assert.deepEqual(shape(docs), want);
          // Whole clusters (lineage included) are a function of the events: the same as in event-time order.
          const sorted = new MemoryProfiles();
          try {
            await sorted.apply([...events].sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp) || (a.messageId < b.messageId ? -1 : 1)));
            const lineage = async (m: MemoryProfiles) => (await m.store.scanClusters(undefined, 1000)).map((c) => [c.id, c.members, c.last, [...c.edges].sort(), c.lineage]);
            assert.deepEqual(await lineage(g), await lineage(sorted));
          } finally {
            await sorted.close();
          }
        } finally {
          await g.close();
        }
      },
    ),
    { numRuns: 300 },
  );
  // The runs must have exercised every path: late edges, refused merges, merges.
  assert.ok(seen.reclusters > 0 && seen.conflicts > 0 && seen.merges > 0, JSON.stringify(seen));
});

test('the recent-events index keeps the newest N by event time, whatever the order and merges', async () => {
  const { noteRecent, mergeInto, emptyProfile } = await import('../../src/core/profile.js');
  const refs: [number, number, number][] = Array.from({ length: 30 }, (_, i) => [1000 + ((i * 7) % 30), i % 3, i]);
  const want = [...refs].sort((a, b) => b[0] - a[0] || b[1] - a[1] || b[2] - a[2]).slice(0, 5);
  const one = emptyProfile();
  for (const r of refs) noteRecent(one, r, 5);
  assert.deepEqual(one.recent, want);
  const a = emptyProfile();
  const b = emptyProfile();
  refs.forEach((r, i) => noteRecent(i % 2 ? a : b, r, 5));
  mergeInto(a, b, { recentEvents: 5 });
  assert.deepEqual(a.recent, want);
});

test('a custom identifier type from a configured path links events; its limit is enforced like the others', async () => {
  const { IdentityRules, DEFAULT_IDENTIFIER_TYPES } = await import('../../src/core/identity.js');
  const rules = new IdentityRules([...DEFAULT_IDENTIFIER_TYPES.slice(0, 1), { type: 'crm_id', paths: ['properties.crm_id', 'context.traits.crm_id'], limit: 1 }, ...DEFAULT_IDENTIFIER_TYPES.slice(1)], 'k');
  const g = new MemoryProfiles({}, rules);
  try {
    await g.apply([env({ type: 'track', anonymousId: 'web', event: 'Lead', properties: { crm_id: 'C-7' } })]);
    await g.apply([env({ type: 'page', anonymousId: 'mobile', context: { traits: { crm_id: 'C-7' } } })]);
    await g.apply([env({ type: 'track', anonymousId: 'mobile', event: 'Lead', properties: { crm_id: 'C-8' } })]);
    await g.check();
    const p = (await g.byKey('crm_id:C-7'))!;
    assert.deepEqual(ids(p), ['crm_id:C-7', 'anonymous_id:mobile', 'anonymous_id:web']);
    assert.equal(p.eventCount, 2);
    // C-8 cannot join (one crm_id per profile): its event lands on a profile of its own.
    assert.deepEqual(ids(await g.byKey('crm_id:C-8')), ['crm_id:C-8']);
    assert.equal((await g.byKey('crm_id:C-8'))!.eventCount, 1);
  } finally {
    await g.close();
  }
});

test('audience rules see the computed values they can read: ruleTraits when the model names them', async () => {
  const { applyEvent, audienceView, emptyProfile } = await import('../../src/core/profile.js');
  const { compileComputedTraits } = await import('../../src/core/computed-traits.js');
  const [orders, items] = compileComputedTraits([
    { name: 'orders', op: 'count', event: 'Order Completed' },
    { name: '_items', op: 'recent', event: 'Order Completed', property: 'properties.sku' },
  ]);
  const doc = emptyProfile();
  const e = { type: 'track', event: 'Order Completed', userId: 'ann', messageId: 'm1', sourceId: 's', timestamp: new Date().toISOString(), receivedAt: new Date().toISOString(), properties: { sku: 'S1' } } as Envelope;
  applyEvent(doc, e, { computedTraits: [orders!, items!] });
  assert.deepEqual(audienceView(doc, { computedTraits: [orders!, items!], ruleTraits: [orders!] }, Date.now()).computed, { orders: 1 });
  assert.deepEqual(Object.keys(audienceView(doc, { computedTraits: [orders!, items!] }, Date.now()).computed), ['orders', '_items']);
});
