import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deriveText } from '../../src/personalize/text-signals.js';
import { applyText, mergeText, textEmbedding, type TextState } from '../../src/core/text-state.js';
import { cosine } from '../../src/core/hashing-vectorizer.js';
import { API_TOKEN, WRITE_KEY, basic, startMosaic } from '../helpers.js';

const RULES = { intents: [{ label: 'cancel', phrases: ['cancel my', 'close my account'] }, { label: 'complaint', phrases: ['broken', 'refund'] }], dimensions: 64 };

test('text signals: sentiment, the first matching intent, a sparse vector; a profile state that adds up in any order', () => {
  const happy = deriveText('I love these shoes, they are great!', RULES);
  const angry = deriveText('The zipper came BROKEN, I want a refund. Cancel my order.', RULES);
  assert.ok(happy.sentiment > 0.5 && angry.sentiment < 0, `${happy.sentiment} / ${angry.sentiment}`);
  assert.equal(happy.intent, undefined);
  assert.equal(angry.intent, 'cancel', 'the first rule that matches wins');
  assert.equal(happy.vector.dims, 64);
  assert.equal(happy.vector.i.length, happy.vector.x.length);
  assert.ok(happy.vector.i.length < 64, 'sparse');

  const h = 10 * 86_400_000;
  const texts = [
    [happy, 1_000, 'a'],
    [angry, 5_000, 'b'],
    [deriveText('Where is my refund?', RULES), 3_000, 'c'],
  ] as const;
  let one: TextState | undefined;
  for (const [s, t, m] of texts) one = applyText(one, s, t, m, h);
  const split = applyText(undefined, texts[2][0], texts[2][1], texts[2][2], h);
  let rest = applyText(undefined, texts[1][0], texts[1][1], texts[1][2], h);
  rest = applyText(rest, texts[0][0], texts[0][1], texts[0][2], h);
  const merged = mergeText(split, rest, h);
  assert.equal(merged.n, 3);
  assert.equal(merged.s, one!.s);
  assert.deepEqual(merged.intents, { cancel: 1, complaint: 1 });
  assert.equal(merged.last?.v, 'cancel', 'the latest by event time');
  assert.ok(cosine(textEmbedding(merged)!, textEmbedding(one)!) > 0.999999, 'the same embedding whatever the order');
});

test('text end to end: signals on the profile and in audiences, the raw text never stored', async () => {
  const m = await startMosaic({
    processor: { enabled: false },
    audiences: [{ name: 'unhappy', rule: { all: [{ computed: 'text_sentiment', op: 'lt', value: 0 }, { computed: 'text_count', op: 'gte', value: 1 }] } }],
    personalization: { text: { sources: [{ event: 'Review Submitted', path: 'properties.body' }, { event: 'Ticket Created', path: 'properties.description' }], intents: RULES.intents } },
  });
  try {
    const batch = [
      { type: 'track', userId: 'ann', event: 'Review Submitted', properties: { body: 'Awful. It arrived broken and support never answered.', stars: 1 }, timestamp: '2026-11-01T10:00:00.000Z' },
      { type: 'track', userId: 'ann', event: 'Ticket Created', properties: { description: 'Please close my account.' }, timestamp: '2026-11-02T10:00:00.000Z' },
      { type: 'track', userId: 'bob', event: 'Review Submitted', properties: { body: 'Wonderful boots, very comfortable, love them.' }, timestamp: '2026-11-01T10:00:00.000Z' },
      { type: 'track', userId: 'cy', event: 'Review Submitted', properties: { stars: 5 }, timestamp: '2026-11-01T10:00:00.000Z' },
    ];
    assert.equal((await m.app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: basic(WRITE_KEY) }, payload: { batch } })).statusCode, 200);
    await m.processor.drain();
    const get = async (id: string) => (await m.app.inject({ method: 'GET', url: `/v1/profiles/user_id:${id}`, headers: { authorization: `Bearer ${API_TOKEN}` } })).json();
    const ann = await get('ann');
    assert.equal(ann.text.texts, 2);
    assert.ok(ann.text.sentiment < 0, JSON.stringify(ann.text));
    assert.deepEqual(ann.text.intents, { complaint: 1, cancel: 1 });
    assert.equal(ann.text.lastIntent, 'cancel');
    const bob = await get('bob');
    assert.ok(bob.text.sentiment > 0.5);
    assert.equal((await get('cy')).text, undefined, 'no text, no signals');
    const members = (await m.app.inject({ method: 'GET', url: '/v1/audiences/unhappy/members', headers: { authorization: `Bearer ${API_TOKEN}` } })).json();
    assert.equal(members.members.length, 1);
    assert.equal(members.members[0].profileId, ann.id);
    // raw: drop (the default): the log holds the signals and the rest of the event, never the words.
    const ends = await m.log.endOffsets();
    let seen = 0;
    for (let p = 0; p < ends.length; p++) {
      for (const e of await m.log.read(p, 1, 1000)) {
        assert.ok(!/broken|close my account|Wonderful/i.test(e.payload), e.payload);
        const ev = JSON.parse(e.payload);
        if (ev.context?.textSignals) {
          seen++;
          assert.equal(typeof ev.context.textSignals.sentiment, 'number');
        }
        if (ev.userId === 'ann' && ev.event === 'Review Submitted') assert.equal(ev.properties.stars, 1, 'the rest of the event is kept');
      }
    }
    assert.equal(seen, 3);

    // Similar people, by what they wrote: dan writes like ann, eve like bob.
    const more = [
      { type: 'track', userId: 'dan', event: 'Review Submitted', properties: { body: 'It arrived broken and support never answered. Awful.' }, timestamp: '2026-11-03T10:00:00.000Z' },
      { type: 'track', userId: 'eve', event: 'Review Submitted', properties: { body: 'Very comfortable boots, wonderful, I love them.' }, timestamp: '2026-11-03T10:00:00.000Z' },
    ];
    assert.equal((await m.app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: basic(WRITE_KEY) }, payload: { batch: more } })).statusCode, 200);
    await m.processor.drain();
    const index = m.personalization!.profiles!;
    await index.sync();
    assert.equal(index.size, 4, 'ann, bob, dan, eve: the four who wrote');
    const similar = async (id: string) => (await m.app.inject({ method: 'GET', url: `/v1/profiles/user_id:${id}/similar?limit=3`, headers: { authorization: `Bearer ${API_TOKEN}` } })).json();
    const dan = await get('dan');
    const eve = await get('eve');
    const forAnn = await similar('ann');
    assert.equal(forAnn.id, ann.id);
    assert.equal(forAnn.texts, 2);
    assert.equal(forAnn.similar[0].profileId, dan.id, JSON.stringify(forAnn));
    assert.ok(!forAnn.similar.some((s: { profileId: string }) => s.profileId === ann.id), 'not oneself');
    assert.equal((await similar('bob')).similar[0].profileId, eve.id);
    assert.deepEqual((await similar('cy')).similar, [], 'nothing written: nobody is similar');
    // Topics: two kinds of writing, two topics; each profile shows its own.
    assert.equal(forAnn.topic, null, 'no topic before they are fitted');
    const fitted = await m.app.inject({ method: 'POST', url: '/v1/text/topics', headers: { authorization: `Bearer ${API_TOKEN}` }, payload: { k: 2 } });
    assert.equal(fitted.statusCode, 200, fitted.body);
    assert.deepEqual(fitted.json().topics.map((t: { profiles: number }) => t.profiles).sort(), [2, 2]);
    const topic = async (id: string) => (await similar(id)).topic as string;
    assert.equal(await topic('ann'), await topic('dan'));
    assert.equal(await topic('bob'), await topic('eve'));
    assert.notEqual(await topic('ann'), await topic('bob'));
    const tooMany = await m.app.inject({ method: 'POST', url: '/v1/text/topics', headers: { authorization: `Bearer ${API_TOKEN}` }, payload: { k: 9 } });
    assert.equal(tooMany.statusCode, 400);
    assert.match(tooMany.json().error.message, /4 profiles have written text; 9 topics need at least 9/);
    // An erased person is no one's neighbour any more.
    const erased = await m.app.inject({ method: 'POST', url: '/v1/privacy/erasures', headers: { authorization: `Bearer ${API_TOKEN}` }, payload: { subject: 'user_id:dan' } });
    assert.equal(erased.statusCode, 202, erased.body);
    let status = 'received';
    for (let i = 0; i < 200 && !['completed', 'failed'].includes(status); i++) {
      await new Promise((r) => setTimeout(r, 50));
      status = (await m.app.inject({ method: 'GET', url: `/v1/privacy/requests/${erased.json().request.id}`, headers: { authorization: `Bearer ${API_TOKEN}` } })).json().request.status;
    }
    assert.equal(status, 'completed');
    assert.ok(!(await similar('ann')).similar.some((s: { profileId: string }) => s.profileId === dan.id));
    assert.equal(index.size, 3);
  } finally {
    await m.cleanup();
  }
});
