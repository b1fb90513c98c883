import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Cluster, Hyperedge } from '../../src/core/identity-graph.js';
import type { ProfileDoc } from '../../src/core/profile.js';
import type { ProfileStore } from '../../src/ports/profile-store.js';

const part = (anchor: string, eventCount = 1): ProfileDoc => ({
  id: anchor, identities: [], traits: { plan: { v: 'pro', t: 1, m: 'm1' } }, firstSeen: 1, lastSeen: 2, eventCount, eventCounts: { A: eventCount }, typeCounts: { track: eventCount },
});
const cluster = (id: string, members: string[], t = 1, edges: string[] = []): Cluster => ({ id, members, last: { t, m: `m${t}` }, edges, lineage: [] });
const edge = (nodes: string[], t: number): Hyperedge => ({ key: nodes.join('|'), nodes, t, m: `m${t}` });

/** Every member of an audience, page by page from no cursor until a page has no `next`. */
async function allMembers(s: ProfileStore, audience: string, limit: number, cursor?: string) {
  const out: { profileId: string; since: number }[] = [];
  do {
    const page = await s.audienceMembers(audience, cursor, limit);
    assert.ok(page.members.length <= limit);
    out.push(...page.members);
    cursor = page.next;
  } while (cursor !== undefined);
  return out;
}
const byId = (a: { profileId: string }, b: { profileId: string }) => (a.profileId < b.profileId ? -1 : 1);

/** What every ProfileStore adapter must do. `make` returns a fresh, empty store. */
export function profileStoreConformance(name: string, make: () => Promise<ProfileStore>) {
  async function withStore(fn: (s: ProfileStore) => Promise<void>) {
    const s = await make();
    try {
      await fn(s);
    } finally {
      await s.close();
    }
  }

  test(`${name}: commit writes clusters, nodes, edges, parts and offsets together`, () =>
    withStore(async (s) => {
      const c = cluster('p1', ['user_id:1', 'anonymous_id:a']);
      await s.commit({
        clusters: [c],
        nodes: [['user_id:1', 'p1'], ['anonymous_id:a', 'p1']],
        edges: [edge(['user_id:1', 'anonymous_id:a'], 5)],
        parts: [part('user_id:1')],
        offsets: new Map([[0, 5], [1, 3]]),
      });
      assert.deepEqual(await s.readOffsets(), new Map([[0, 5], [1, 3]]));
      assert.deepEqual(await s.nodeClusters(['user_id:1', 'anonymous_id:a', 'user_id:none']), new Map([['user_id:1', 'p1'], ['anonymous_id:a', 'p1']]));
      assert.deepEqual(await s.getClusters(['p1', 'p404']), new Map([['p1', c]]));
      assert.deepEqual(await s.findCluster('anonymous_id:a'), c);
      assert.equal(await s.findCluster('user_id:none'), undefined);
      assert.deepEqual(await s.edgeStamps(['user_id:1|anonymous_id:a', 'nope']), new Map([['user_id:1|anonymous_id:a', { t: 5, m: 'm5' }]]));
      assert.deepEqual(await s.getEdges(['user_id:1|anonymous_id:a', 'nope']), [edge(['user_id:1', 'anonymous_id:a'], 5)]);
      assert.deepEqual(await s.getEdges([]), []);
      assert.deepEqual(await s.getParts(['user_id:1', 'anonymous_id:a']), new Map([['user_id:1', part('user_id:1')]]));
      assert.equal(await s.countProfiles(), 1);
    }));

  test(`${name}: a merge deletes the absorbed cluster and re-points its nodes; parts are updated in place`, () =>
    withStore(async (s) => {
      await s.commit({
        clusters: [cluster('p1', ['user_id:1']), cluster('p2', ['anonymous_id:b'])],
        nodes: [['user_id:1', 'p1'], ['anonymous_id:b', 'p2']],
        parts: [part('user_id:1'), part('anonymous_id:b')],
        offsets: new Map([[0, 2]]),
      });
      const parts = await s.getParts(['user_id:1']);
      parts.get('user_id:1')!.eventCount = 7;
      await s.commit({
        clusters: [cluster('p1', ['user_id:1', 'anonymous_id:b'], 3)],
        deleteClusters: ['p2'],
        nodes: [['anonymous_id:b', 'p1']],
        parts: parts.values(),
        offsets: new Map([[0, 3]]),
      });
      assert.equal(await s.countProfiles(), 1);
      assert.equal((await s.findCluster('anonymous_id:b'))?.id, 'p1');
      assert.equal((await s.getParts(['user_id:1'])).get('user_id:1')?.eventCount, 7);
      assert.equal((await s.readOffsets()).get(0), 3);
    }));

  test(`${name}: a profile deleted and written again in one commit keeps its memberships; one deleted leaves with its exits`, () =>
    withStore(async (s) => {
      await s.commit({
        clusters: [cluster('p1', ['user_id:1']), cluster('p2', ['user_id:2'])],
        memberships: [{ audience: 'a', profileId: 'p1', kind: 'entered', at: 1 }, { audience: 'a', profileId: 'p2', kind: 'entered', at: 1 }],
      });
      // As a merge commits: p2 is absorbed into p3, which is new and enters what p2 leaves.
      await s.commit({
        clusters: [cluster('p1', ['user_id:1'], 2), cluster('p3', ['user_id:2', 'user_id:3'], 2)],
        deleteClusters: ['p1', 'p2'],
        memberships: [{ audience: 'a', profileId: 'p3', kind: 'entered', at: 2 }, { audience: 'a', profileId: 'p2', kind: 'exited', at: 2 }],
      });
      assert.deepEqual(await s.getClusters(['p1', 'p2', 'p3']), new Map([['p1', cluster('p1', ['user_id:1'], 2)], ['p3', cluster('p3', ['user_id:2', 'user_id:3'], 2)]]));
      assert.deepEqual(await s.memberships(['p1', 'p2', 'p3']), new Map([['p1', new Set(['a'])], ['p3', new Set(['a'])]]));
      assert.deepEqual((await allMembers(s, 'a', 10)).sort(byId), [{ profileId: 'p1', since: 1 }, { profileId: 'p3', since: 2 }]);
      // A profile made after a deleted one is in no audience it was in.
      await s.commit({ clusters: [cluster('p4', ['user_id:4'])], deleteClusters: ['p3'], memberships: [{ audience: 'a', profileId: 'p3', kind: 'exited', at: 3 }] });
      await s.commit({ clusters: [cluster('p5', ['user_id:5'])] });
      assert.deepEqual(await s.memberships(['p4', 'p5']), new Map());
      assert.deepEqual(await s.audienceCounts(), new Map([['a', 1]]));
    }));

  test(`${name}: an edge seen earlier replaces the stored stamp`, () =>
    withStore(async (s) => {
      await s.commit({ edges: [edge(['a', 'b'], 9)] });
      await s.commit({ edges: [edge(['a', 'b'], 4)] });
      assert.deepEqual(await s.edgeStamps(['a|b']), new Map([['a|b', { t: 4, m: 'm4' }]]));
      assert.equal((await s.getEdges(['a|b'])).length, 1);
    }));

  test(`${name}: readProfile, where offered, is findCluster + getParts + memberships in one call`, () =>
    withStore(async (s) => {
      if (!s.readProfile) return;
      const c = cluster('p1', ['user_id:1', 'anonymous_id:a', 'anonymous_id:none']);
      await s.commit({
        clusters: [c],
        nodes: [['user_id:1', 'p1'], ['anonymous_id:a', 'p1']],
        parts: [part('user_id:1'), part('anonymous_id:a', 3), part('anonymous_id:elsewhere')],
        memberships: [{ audience: 'zeta', profileId: 'p1', kind: 'entered', at: 1 }, { audience: 'alpha', profileId: 'p1', kind: 'entered', at: 1 }],
      });
      const got = await s.readProfile('anonymous_id:a');
      assert.deepEqual(got?.cluster, c);
      assert.deepEqual(got?.parts.sort((x, y) => (x.id < y.id ? -1 : 1)), [part('anonymous_id:a', 3), part('user_id:1')]);
      assert.deepEqual(got?.audiences, ['alpha', 'zeta']);
      assert.equal(await s.readProfile('user_id:404'), undefined);
    }));

  test(`${name}: clusters are scanned in id order from a cursor`, () =>
    withStore(async (s) => {
      await s.commit({ clusters: ['p3', 'p1', 'p2'].map((id) => cluster(id, [`user_id:${id}`])) });
      assert.deepEqual((await s.scanClusters(undefined, 2)).map((c) => c.id), ['p1', 'p2']);
      assert.deepEqual((await s.scanClusters('p2', 2)).map((c) => c.id), ['p3']);
    }));

  test(`${name}: memberships, members by cursor, counts and sizes over time`, () =>
    withStore(async (s) => {
      await s.commit({ clusters: ['p1', 'p2', 'p3', 'p4'].map((id) => cluster(id, [`user_id:${id}`])) });
      await s.commit({ memberships: [
        { audience: 'pros', profileId: 'p2', kind: 'entered', at: 10 },
        { audience: 'pros', profileId: 'p1', kind: 'entered', at: 11 },
        { audience: 'buyers', profileId: 'p1', kind: 'entered', at: 12 },
      ] });
      await s.commit({ memberships: [{ audience: 'buyers', profileId: 'p1', kind: 'exited', at: 13 }, { audience: 'pros', profileId: 'p1', kind: 'entered', at: 14 }] });
      assert.deepEqual(await s.memberships(['p1', 'p2', 'p3']), new Map([['p1', new Set(['pros'])], ['p2', new Set(['pros'])]]));
      assert.deepEqual((await allMembers(s, 'pros', 1)).sort(byId), [{ profileId: 'p1', since: 11 }, { profileId: 'p2', since: 10 }], 'entering twice keeps the first time');
      const full = await s.audienceMembers('pros', undefined, 2);
      assert.equal(full.members.length, 2);
      assert.deepEqual(await s.audienceMembers('pros', full.next, 2), { members: [] }, 'a full page has a next, which may lead to an empty last one');
      assert.deepEqual(await s.audienceMembers('pros', undefined, 3), { members: full.members }, 'a page that is not full is the last');
      assert.deepEqual(await s.audienceCounts(), new Map([['pros', 2]]));
      // Counts follow what really changed: an exit of a non-member (p9, not even a stored
      // profile), a re-entry, commits of different partitions, leaving and coming back within
      // one commit.
      await s.commit({ offsets: new Map([[3, 1]]), memberships: [{ audience: 'pros', profileId: 'p9', kind: 'exited', at: 15 }, { audience: 'pros', profileId: 'p2', kind: 'entered', at: 15 }, { audience: 'buyers', profileId: 'p3', kind: 'entered', at: 15 }] });
      await s.commit({ offsets: new Map([[5, 1]]), memberships: [{ audience: 'buyers', profileId: 'p3', kind: 'exited', at: 16 }, { audience: 'pros', profileId: 'p1', kind: 'exited', at: 16 }, { audience: 'pros', profileId: 'p1', kind: 'entered', at: 16 }, { audience: 'pros', profileId: 'p4', kind: 'entered', at: 16 }] });
      assert.deepEqual(await s.audienceCounts(), new Map([['pros', 3]]), 'buyers is empty again');
      assert.deepEqual((await allMembers(s, 'pros', 10)).map((m) => m.profileId).sort(), ['p1', 'p2', 'p4']);
      assert.deepEqual((await allMembers(s, 'pros', 10)).find((m) => m.profileId === 'p1')?.since, 16, 'leaving and coming back restarts membership');
      assert.deepEqual(await allMembers(s, 'buyers', 10), []);
      await s.recordAudienceSizes(1000, new Map([['pros', 2], ['buyers', 0]]));
      await s.recordAudienceSizes(2000, new Map([['pros', 3]]));
      assert.deepEqual(await s.audienceSizes('pros', 1500), [{ at: 2000, size: 3 }]);
      assert.deepEqual(await s.audienceSizes('buyers', 0), [{ at: 1000, size: 0 }]);
    }));

  test(`${name}: paging through members lists each one who stays exactly once while others enter and leave`, () =>
    withStore(async (s) => {
      const ids = Array.from({ length: 12 }, (_, i) => `p${String(i).padStart(2, '0')}`);
      await s.commit({ clusters: ids.map((id) => cluster(id, [`user_id:${id}`])) });
      await s.commit({ memberships: ids.slice(0, 8).map((profileId) => ({ audience: 'a', profileId, kind: 'entered' as const, at: 1 })) });
      const first = await s.audienceMembers('a', undefined, 3);
      assert.equal(first.members.length, 3);
      const seen = first.members.map((m) => m.profileId);
      // Between pages: one listed member and one not yet listed leave, four profiles enter.
      const notYet = ids.slice(0, 8).find((id) => !seen.includes(id))!;
      await s.commit({
        memberships: [
          { audience: 'a', profileId: seen[0]!, kind: 'exited', at: 2 },
          { audience: 'a', profileId: notYet, kind: 'exited', at: 2 },
          ...ids.slice(8).map((profileId) => ({ audience: 'a', profileId, kind: 'entered' as const, at: 2 })),
        ],
      });
      const rest = (await allMembers(s, 'a', 3, first.next)).map((m) => m.profileId);
      const stayers = ids.slice(0, 8).filter((id) => id !== seen[0] && id !== notYet);
      for (const id of stayers) assert.equal([...seen, ...rest].filter((x) => x === id).length, 1, `${id} listed once`);
      assert.ok(!rest.includes(seen[0]!) && !rest.includes(notYet), 'who left is not listed after leaving');
      assert.deepEqual((await allMembers(s, 'a', 5)).map((m) => m.profileId).sort(), [...stayers, ...ids.slice(8)].sort());
    }));

  test(`${name}: the outbox keeps entries in order until deleted by id; dead letters page by id and kind`, () =>
    withStore(async (s) => {
      await s.commit({ outbox: ['{"a":1}', '{"a":2}'] });
      await s.commit({ outbox: ['{"a":3}'] });
      const all = await s.readOutbox(10);
      assert.deepEqual(all.map((e) => e.payload), ['{"a":1}', '{"a":2}', '{"a":3}']);
      await s.deleteOutbox([all[1]!.id]);
      assert.deepEqual((await s.readOutbox(10)).map((e) => e.payload), ['{"a":1}', '{"a":3}'], 'only the ids given: a lower id may be one another writer committed late, not yet sent');
      await s.deleteOutbox([all[0]!.id]);
      await s.deleteOutbox([]);
      assert.deepEqual((await s.readOutbox(10)).map((e) => e.payload), ['{"a":3}']);
      const dl = (kind: 'transformation' | 'destination', n: number) => ({ at: n, kind, name: 'x', reason: `r${n}`, payload: '{}' });
      await s.commit({ deadLetters: [dl('transformation', 1), dl('destination', 2), dl('transformation', 3)] });
      const t = await s.deadLetters(0, 10, 'transformation');
      assert.deepEqual(t.map((d) => d.reason), ['r1', 'r3']);
      assert.deepEqual((await s.deadLetters(t[0]!.id, 1)).map((d) => d.reason), ['r2']);
      await s.reset();
      assert.deepEqual((await s.deadLetters(0, 10)).map((d) => d.reason), ['r2'], 'a replay rebuilds transformation dead letters, destination ones are history');
      assert.deepEqual(await s.readOutbox(10), []);
    }));

  test(`${name}: a failing commit changes nothing`, () =>
    withStore(async (s) => {
      await s.commit({ clusters: [cluster('p1', ['user_id:1'])], nodes: [['user_id:1', 'p1']], parts: [part('user_id:1')], offsets: new Map([[0, 2]]) });
      const poison = { id: 'p2', get members(): string[] { throw new Error('boom'); } } as unknown as Cluster;
      await assert.rejects(s.commit({ parts: [part('user_id:1', 9)], clusters: [poison], offsets: new Map([[0, 99]]) }));
      assert.equal((await s.readOffsets()).get(0), 2);
      assert.equal((await s.getParts(['user_id:1'])).get('user_id:1')?.eventCount, 1);
    }));

  test(`${name}: meta values are stored, replaced, and survive reset`, () =>
    withStore(async (s) => {
      assert.equal(await s.getMeta('k'), undefined);
      await s.setMeta('k', 'v1');
      await s.setMeta('k', 'v2');
      await s.reset();
      assert.equal(await s.getMeta('k'), 'v2');
    }));

  test(`${name}: seen messages are recorded by their commit, per partition, and forgotten by age`, () =>
    withStore(async (s) => {
      assert.deepEqual(await s.seenMessages([]), new Set());
      await s.commit({ offsets: new Map([[0, 2]]), seen: { at: 1000, messages: [[0, 'k1'], [0, 'k2'], [1, 'k3'], [0, 'k1']] } });
      await s.commit({ offsets: new Map([[0, 3]]), seen: { at: 2000, messages: [[0, 'k4']] } });
      assert.deepEqual(await s.seenMessages([[0, 'k1'], [0, 'k3'], [1, 'k3'], [0, 'k4'], [0, 'k9']]), new Set(['k1', 'k3', 'k4']));
      const poison = { id: 'p2', get members(): string[] { throw new Error('boom'); } } as unknown as Cluster;
      await assert.rejects(s.commit({ clusters: [poison], seen: { at: 3000, messages: [[0, 'k5']] } }));
      assert.deepEqual(await s.seenMessages([[0, 'k5']]), new Set(), 'a failed commit records nothing');
      assert.equal(await s.forgetSeenMessages(1500), 3);
      assert.deepEqual(await s.seenMessages([[0, 'k1'], [1, 'k3'], [0, 'k4']]), new Set(['k4']));
    }));

  test(`${name}: an erasure removes one person's rows, their memberships and chosen outbox/dead-letter entries, and records suppressions that survive reset`, () =>
    withStore(async (s) => {
      const dl = (n: number) => ({ at: n, kind: 'destination' as const, name: 'hook', reason: `r${n}`, payload: '{}' });
      await s.commit({
        // p1 last: a store that numbers its rows may give the next profile p1's number.
        clusters: [cluster('p2', ['user_id:2']), cluster('p1', ['user_id:1', 'anonymous_id:a'])],
        nodes: [['user_id:1', 'p1'], ['anonymous_id:a', 'p1'], ['user_id:2', 'p2']],
        edges: [edge(['user_id:1', 'anonymous_id:a'], 1), edge(['user_id:2', 'anonymous_id:b'], 1)],
        parts: [part('user_id:1'), part('anonymous_id:a'), part('user_id:2')],
        outbox: ['{"p":1}', '{"p":2}'],
        deadLetters: [dl(1), dl(2)],
        memberships: [{ audience: 'pros', profileId: 'p1', kind: 'entered', at: 1 }, { audience: 'pros', profileId: 'p2', kind: 'entered', at: 1 }],
      });
      assert.equal(await s.suppressionCount(), 0);
      const [o1] = await s.readOutbox(10);
      const [d1] = await s.deadLetters(0, 10);
      await s.commit({
        deleteClusters: ['p1'],
        memberships: [{ audience: 'pros', profileId: 'p1', kind: 'exited', at: 2 }],
        erase: { nodes: ['user_id:1', 'anonymous_id:a'], edges: ['user_id:1|anonymous_id:a'], parts: ['user_id:1', 'anonymous_id:a'], outbox: [o1!.id], deadLetters: [d1!.id] },
        suppress: ['h1', 'h2', 'h1'],
      });
      assert.equal(await s.findCluster('user_id:1'), undefined);
      assert.deepEqual(await s.nodeClusters(['user_id:1', 'anonymous_id:a', 'user_id:2']), new Map([['user_id:2', 'p2']]));
      assert.deepEqual((await s.getEdges(['user_id:1|anonymous_id:a', 'user_id:2|anonymous_id:b'])).map((e) => e.key), ['user_id:2|anonymous_id:b']);
      assert.deepEqual([...(await s.getParts(['user_id:1', 'anonymous_id:a', 'user_id:2'])).keys()], ['user_id:2']);
      assert.deepEqual((await s.readOutbox(10)).map((e) => e.payload), ['{"p":2}']);
      assert.deepEqual((await s.deadLetters(0, 10)).map((d) => d.reason), ['r2']);
      assert.deepEqual(await s.audienceCounts(), new Map([['pros', 1]]));
      assert.deepEqual(await allMembers(s, 'pros', 10), [{ profileId: 'p2', since: 1 }]);
      await s.commit({ clusters: [cluster('p3', ['user_id:3'])] });
      assert.deepEqual(await allMembers(s, 'pros', 10), [{ profileId: 'p2', since: 1 }], 'the next profile made inherits nothing of the erased one');
      assert.deepEqual((await s.suppressions()).sort(), ['h1', 'h2']);
      assert.equal(await s.scrub(), true);
      await s.reset();
      assert.equal(await s.suppressionCount(), 2, 'a replay must not bring an erased person back');
    }));

  test(`${name}: reset empties everything`, () =>
    withStore(async (s) => {
      await s.commit({ clusters: [cluster('p1', ['user_id:1'])], nodes: [['user_id:1', 'p1']], edges: [edge(['user_id:1', 'x:1'], 1)], parts: [part('user_id:1')], offsets: new Map([[0, 2]]), seen: { at: 1, messages: [[0, 'k']] } });
      await s.commit({ memberships: [{ audience: 'a', profileId: 'p1', kind: 'entered', at: 1 }] });
      await s.reset();
      assert.deepEqual(await s.seenMessages([[0, 'k']]), new Set(), 'a replay applies every message again');
      assert.deepEqual(await s.audienceCounts(), new Map());
      assert.equal(await s.countProfiles(), 0);
      assert.equal((await s.readOffsets()).size, 0);
      assert.equal((await s.nodeClusters(['user_id:1'])).size, 0);
      assert.equal((await s.getEdges(['user_id:1|x:1'])).length, 0);
      assert.equal((await s.getParts(['user_id:1'])).size, 0);
    }));
}
