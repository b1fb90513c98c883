import { test } from 'node:test';
import assert from 'node:assert/strict';
import { identifyingTokens, jaccard, MinHasher, estimatedJaccard } from '../../src/core/minhash.js';
import { fieldsFromTraits, findDuplicates, mergeEvents, pairScore, type ProfileIdentity } from '../../src/quality/duplicates.js';
import { Offloader } from '../../src/lake/offload.js';
import { snapshotProfiles } from '../../src/lake/snapshot.js';
import { profileModel } from '../../src/process/profile-model.js';
import { plantedPeople, scoreDuplicates } from '../../bench/people.js';
import { API_TOKEN, WRITE_KEY, basic, startMosaic } from '../helpers.js';

test('minhash: the signature agreement estimates Jaccard similarity', () => {
  const h = new MinHasher(64, 4);
  const a = new Set(Array.from({ length: 40 }, (_, i) => `t${i}`));
  const b = new Set(Array.from({ length: 40 }, (_, i) => `t${i + 10}`)); // 30 of 50 shared: 0.6
  assert.equal(jaccard(a, b), 0.6);
  assert.ok(Math.abs(estimatedJaccard(h.signature(a), h.signature(b)) - 0.6) < 0.12);
  assert.equal(estimatedJaccard(h.signature(a), h.signature(new Set(a))), 1);
  assert.deepEqual(h.candidates([h.signature(a), h.signature(new Set(a)), h.signature(new Set(['x', 'y']))]), [[0, 1]]);
});

test('pair scores: a reversed, typo\'d name with the same mailbox scores high; namesakes low', () => {
  const ann = fieldsFromTraits({ firstName: 'Ann', lastName: 'Lindqvist', email: 'ann.l@mail.com', address: { street: '12 Oak Street', city: 'York', postalCode: 'YO1 7AA' } });
  const again = fieldsFromTraits({ name: 'LINDQVST, Ann', email: 'Ann.L+shop@mail.com', address: '12 Oak St York', postal_code: 'yo1 7aa' });
  const namesake = fieldsFromTraits({ name: 'Ann Lindqvist', email: 'annie@post.net', phone: '+44 7000 000001', address: '4 Mill Road Leeds', postalCode: 'LS2 9XY' });
  const s = pairScore(ann, again);
  assert.ok(s.score > 0.8, String(s.score));
  assert.deepEqual(s.shared, ['name', 'email', 'address', 'postal code']);
  assert.ok(pairScore(ann, namesake).score < 0.5, String(pairScore(ann, namesake).score));
  assert.ok(identifyingTokens(ann).has('a:st'), 'Street and St are the same word');
});

test('LSH finds ≥ 95% of planted duplicate pairs; the scored list keeps false positives low', () => {
  const { profiles, planted } = plantedPeople(3000, 150, 11);
  const all = findDuplicates(profiles, { threshold: 0, bands: 32, rows: 4 });
  const lsh = scoreDuplicates(all.pairs, planted);
  assert.ok(lsh.recall >= 0.95, `LSH recall ${lsh.recall}`);
  const listed = scoreDuplicates(all.pairs.filter((p) => p.score >= 0.5), planted);
  assert.ok(listed.recall >= 0.9, `list recall ${listed.recall}`);
  assert.ok(listed.falsePositiveRate <= 0.15, `false positives ${listed.falsePositiveRate}`);
  assert.ok(all.candidates < 3000 * 20, `candidates ${all.candidates}: not every pair`);
});

test('merge events link a user_id to the other profile\'s anonymous_id; two user_ids are left to the identity rules', () => {
  const p = (id: string, userIds: string[], anonymousIds: string[]): ProfileIdentity => ({ profileId: id, userIds, anonymousIds, fields: {} });
  const profiles = new Map([p('pa', ['u1'], ['a1']), p('pb', [], ['a2']), p('pc', ['u3'], [])].map((x) => [x.profileId, x]));
  const { events, skipped } = mergeEvents([{ a: 'pa', b: 'pb', score: 0.95, shared: ['name'] }, { a: 'pa', b: 'pc', score: 0.97, shared: ['email'] }, { a: 'pb', b: 'pc', score: 0.5, shared: [] }], profiles, 0.9, Date.UTC(2026, 0, 1));
  assert.equal(events.length, 1);
  const e = JSON.parse(events[0]!);
  assert.deepEqual([e.type, e.userId, e.anonymousId, e.sourceId, e.messageId], ['identify', 'u1', 'a2', 'mosaic:batch', 'dedup-pa-pb']);
  assert.equal(skipped.length, 1);
  assert.match(skipped[0]!.reason, /both have a user_id/);
});

test('the duplicates job merges, opt-in, a signed-up person with their anonymous twin', { timeout: 60_000 }, async () => {
  const m = await startMosaic({ quality: { duplicates: { merge: { enabled: true, threshold: 0.8 } } }, schedules: [{ name: 'dedup', cron: '0 4 * * *', job: { kind: 'duplicates' } }] });
  try {
    // No identifier in common (the +tag makes another email identity): identity resolution alone keeps them apart.
    const traits = { name: 'Zeno Kirchenström', email: 'zeno.k@inbox.io', address: '3 Castle Lane Bath' };
    const batch = [
      { type: 'identify', userId: 'zeno', traits, messageId: 'i1' },
      { type: 'identify', anonymousId: 'tablet-1', traits: { ...traits, name: 'zeno kirchenstrom', email: 'ZENO.K+news@inbox.io' }, messageId: 'i2' },
      { type: 'identify', userId: 'other', traits: { name: 'Iris Moreau', email: 'iris@mail.com' }, messageId: 'i3' },
    ];
    assert.equal((await m.app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: basic(WRITE_KEY) }, payload: { batch } })).statusCode, 200);
    await m.processor.drain();
    const lakeDir = m.config.lake.dir!;
    await new Offloader(m.log, { lakeDir, chunkEvents: 1000 }).run();
    assert.deepEqual(await snapshotProfiles(m.store, profileModel(m.config), lakeDir), { profiles: 3 });
    const run = await m.scheduler!.runNow('dedup');
    assert.equal(run?.status, 'succeeded', run?.message);
    assert.match(run!.message!, /1 candidate pairs; 1 merges sent to identity resolution/);
    await m.processor.drain();
    const profile = (await m.app.inject({ method: 'GET', url: '/v1/profiles/anonymous_id:tablet-1', headers: { authorization: `Bearer ${API_TOKEN}` } })).json();
    assert.ok(profile.identities.some((i: { type: string; id: string }) => i.type === 'user_id' && i.id === 'zeno'), JSON.stringify(profile.identities));
    assert.equal(profile.eventCount, 2, 'the merge event is not the person\'s');
  } finally {
    await m.cleanup();
  }
});
