import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { createMosaic } from '../../src/app.js';
import { runReplay } from '../../src/cli/replay.js';
import { loadConfig } from '../../src/config.js';
import type { Envelope } from '../../src/core/envelope.js';
import { Metrics } from '../../src/observe/metrics.js';
import type { InlineProcessorHost } from '../../src/process/processor-host.js';
import { API_TOKEN, WRITE_KEY, basic, tempDir } from '../helpers.js';

const SHOE_LOVERS = {
  name: 'shoe_lovers',
  description: 'Viewed shoes at least 3 times within 7 days',
  rule: { event: 'Product Viewed', where: [{ path: 'properties.category', op: 'eq', value: 'shoes' }], atLeast: 3, within: '7d' },
};
const PRO_BUYERS = { name: 'pro_buyers', rule: { all: [{ trait: 'plan', op: 'eq', value: 'pro' }, { computed: 'orders', op: 'gte', value: 1 }, { not: { trait: 'churned', op: 'exists' } }] } };
const ORDERS = { name: 'orders', op: 'count', event: 'Order Completed' };
const DAY = 86_400_000;

test('audiences: membership on every change, enter/exit events in the log, members API, timer exits, backfill of a new audience', async () => {
  const { dir, cleanup } = tempDir();
  const open = (audiences: object[]) =>
    createMosaic(
      loadConfig({ env: {}, cwd: dir, overrides: { dataDir: dir, writeKey: WRITE_KEY, apiToken: API_TOKEN, logLevel: 'silent', processor: { mode: 'inline', enabled: false }, computedTraits: [ORDERS], audiences } }),
      { logger: pino({ level: 'silent' }), metrics: new Metrics() },
    );
  type M = Awaited<ReturnType<typeof open>>;
  const get = async (m: M, url: string) => {
    const r = await m.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${API_TOKEN}` } });
    return { status: r.statusCode, body: r.json() };
  };
  const send = async (m: M, batch: object[]) => {
    const r = await m.app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: basic(WRITE_KEY) }, payload: { batch } });
    assert.equal(r.statusCode, 200, r.body);
    await m.processor.drain();
  };
  const audienceEvents = async (m: M) => {
    const out: Envelope[] = [];
    const ends = await m.log.endOffsets();
    for (let p = 0; p < ends.length; p++) for (const e of await m.log.read(p, 1, 100_000)) out.push(JSON.parse(e.payload) as Envelope);
    return out.filter((e) => e.sourceId === 'mosaic:audiences').map((e) => `${e.event} ${e.properties!.audience_key} ${e.userId ?? e.anonymousId}`).sort();
  };
  const view = (i: number) => ({ type: 'track', userId: 'ann', event: 'Product Viewed', properties: { category: i < 3 ? 'shoes' : 'hats' }, timestamp: new Date(Date.now() - i * 60_000).toISOString() });
  try {
    const m = await open([SHOE_LOVERS, PRO_BUYERS]);
    const host = m.processor as InlineProcessorHost;
    await send(m, [view(0), view(1), view(3), { type: 'identify', userId: 'bob', traits: { plan: 'pro' } }]);
    assert.deepEqual((await get(m, '/v1/profiles/user_id:ann')).body.audiences, [], 'two shoe views are not three');
    await send(m, [view(2), { type: 'track', userId: 'bob', event: 'Order Completed' }]);
    assert.deepEqual((await get(m, '/v1/profiles/user_id:ann')).body.audiences, ['shoe_lovers']);
    assert.deepEqual((await get(m, '/v1/profiles/user_id:bob')).body.audiences, ['pro_buyers']);
    assert.deepEqual((await get(m, '/v1/profiles/user_id:ann')).body.computedTraits, { orders: 0 }, 'hidden event counts are not shown');

    const list = (await get(m, '/v1/audiences')).body.audiences;
    assert.deepEqual(list.map((a: { name: string; size: number }) => [a.name, a.size]), [['shoe_lovers', 1], ['pro_buyers', 1]]);
    assert.equal(list[0].description, SHOE_LOVERS.description);
    const members = await get(m, '/v1/audiences/shoe_lovers/members?limit=10');
    assert.equal(members.status, 200);
    assert.deepEqual(members.body.members[0].identities, [{ type: 'user_id', id: 'ann' }]);
    assert.equal(members.body.next, null);
    assert.equal((await get(m, '/v1/audiences/nope/members')).body.error.code, 'MOSAIC_AUDIENCE_NOT_FOUND');
    assert.equal((await get(m, '/v1/audiences/shoe_lovers/members?limit=5000')).status, 400);
    const forged = await get(m, '/v1/audiences/shoe_lovers/members?cursor=p_someone');
    assert.equal(forged.status, 400, 'a cursor this store did not make');
    assert.equal(forged.body.error.code, 'MOSAIC_BAD_REQUEST');
    assert.match(forged.body.error.message, /pass the "next" of the previous page/);

    // The enter events are in the log; the processor does not fold them into the profile.
    await m.processor.drain();
    assert.deepEqual(await audienceEvents(m), ['Audience Entered pro_buyers bob', 'Audience Entered shoe_lovers ann']);
    assert.equal((await get(m, '/v1/profiles/user_id:ann')).body.eventCount, 4);

    // A trait change makes bob leave at once; eight days later with no new event, ann leaves by the timer.
    await send(m, [{ type: 'identify', userId: 'bob', traits: { churned: true } }]);
    assert.deepEqual((await get(m, '/v1/profiles/user_id:bob')).body.audiences, []);
    await host.processor.sweepAll(Date.now() + 8 * DAY);
    assert.deepEqual((await get(m, '/v1/profiles/user_id:ann')).body.audiences, []);
    assert.deepEqual(await audienceEvents(m), [
      'Audience Entered pro_buyers bob',
      'Audience Entered shoe_lovers ann',
      'Audience Exited pro_buyers bob',
      'Audience Exited shoe_lovers ann',
    ]);
    const sizes = await get(m, `/v1/audiences/shoe_lovers/sizes?since=${new Date(Date.now() - DAY).toISOString()}`);
    assert.equal(sizes.status, 200);
    assert.ok(Array.isArray(sizes.body.sizes));
    await m.close();

    // A new audience over existing profiles is backfilled on start, with its progress shown.
    const FRENCH = { name: 'churned', rule: { trait: 'churned', op: 'eq', value: true } };
    const again = await open([SHOE_LOVERS, PRO_BUYERS, FRENCH]);
    await (again.processor as InlineProcessorHost).processor.sweepAll();
    const churned = (await get(again, '/v1/audiences/churned')).body;
    assert.equal(churned.size, 1);
    assert.equal(churned.backfill.done, 2);
    assert.ok(churned.backfill.finishedAt);
    assert.deepEqual((await get(again, '/v1/profiles/user_id:bob')).body.audiences, ['churned']);
    const eventsBefore = (await audienceEvents(again)).length;
    await again.close();

    // A replay rebuilds memberships from the log without sending the audience events again.
    await runReplay(loadConfig({ env: {}, cwd: dir, overrides: { dataDir: dir, logLevel: 'silent', computedTraits: [ORDERS], audiences: [SHOE_LOVERS, PRO_BUYERS, FRENCH] } }));
    const replayed = await open([SHOE_LOVERS, PRO_BUYERS, FRENCH]);
    assert.deepEqual((await get(replayed, '/v1/profiles/user_id:bob')).body.audiences, ['churned']);
    assert.equal((await audienceEvents(replayed)).length, eventsBefore);
    await replayed.close();
  } finally {
    cleanup();
  }
});

test('audiences follow merges: the absorbed profile exits, the merged one is evaluated afresh', async () => {
  const { dir, cleanup } = tempDir();
  const m = await createMosaic(
    loadConfig({
      env: {},
      cwd: dir,
      overrides: { dataDir: dir, writeKey: WRITE_KEY, apiToken: API_TOKEN, logLevel: 'silent', processor: { mode: 'inline', enabled: false }, audiences: [{ name: 'viewers', rule: { event: 'Product Viewed' } }] },
    }),
    { logger: pino({ level: 'silent' }), metrics: new Metrics() },
  );
  const get = async (url: string) => (await m.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${API_TOKEN}` } })).json();
  const send = async (batch: object[]) => {
    assert.equal((await m.app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: basic(WRITE_KEY) }, payload: { batch } })).statusCode, 200);
    await m.processor.drain();
  };
  try {
    await send([{ type: 'track', anonymousId: 'visitor', event: 'Product Viewed' }]);
    const anonymous = await get('/v1/profiles/anonymous_id:visitor');
    assert.deepEqual(anonymous.audiences, ['viewers']);
    await send([{ type: 'identify', anonymousId: 'visitor', userId: 'ann' }]);
    const ann = await get('/v1/profiles/user_id:ann');
    assert.notEqual(ann.id, anonymous.id, 'the profile id follows its highest-priority identity');
    assert.deepEqual(ann.audiences, ['viewers']);
    const members = await get('/v1/audiences/viewers/members');
    assert.deepEqual(members.members.map((x: { profileId: string }) => x.profileId), [ann.id]);
    const ends = await m.log.endOffsets();
    const events: Envelope[] = [];
    for (let p = 0; p < ends.length; p++) for (const e of await m.log.read(p, 1, 1000)) events.push(JSON.parse(e.payload) as Envelope);
    const transitions = events.filter((e) => e.sourceId === 'mosaic:audiences').map((e) => `${e.event} ${String(e.properties!.profile_id)}`).sort();
    assert.deepEqual(transitions, [`Audience Entered ${anonymous.id}`, `Audience Entered ${ann.id}`, `Audience Exited ${anonymous.id}`].sort());
  } finally {
    await m.close();
    cleanup();
  }
});

test('the audience timer sweeps a slice in small steps: a batch waiting to run goes in between', async () => {
  const { dir, cleanup } = tempDir();
  const m = await createMosaic(
    loadConfig({
      env: {},
      cwd: dir,
      overrides: {
        dataDir: dir,
        writeKey: WRITE_KEY,
        apiToken: API_TOKEN,
        logLevel: 'silent',
        processor: { mode: 'inline', enabled: false },
        audiences: [{ name: 'viewers', rule: { event: 'Product Viewed', within: '1d' } }],
        audienceTimer: { profilesPerTick: 1000 },
      },
    }),
    { logger: pino({ level: 'silent' }), metrics: new Metrics() },
  );
  const host = m.processor as InlineProcessorHost;
  const post = async (batch: object[]) => assert.equal((await m.app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: basic(WRITE_KEY) }, payload: { batch } })).statusCode, 200);
  try {
    await post(Array.from({ length: 250 }, (_, i) => ({ type: 'track', userId: `u${i}`, event: 'Product Viewed' })));
    await m.processor.drain();
    await post([{ type: 'track', userId: 'late', event: 'Product Viewed' }]);
    const order: string[] = [];
    // Two days on, everyone's view has left the window: the sweep takes 250 exits.
    const sweep = host.processor.sweepOnce(Date.now() + 2 * DAY).then((n) => (order.push('sweep'), n));
    const batch = host.processor.runOnce().then((n) => (order.push('batch'), n));
    const [swept, applied] = await Promise.all([sweep, batch]);
    assert.equal(applied, 1);
    assert.deepEqual(order, ['batch', 'sweep'], 'the batch did not wait for the whole slice');
    assert.ok(swept >= 250, `the whole slice was still swept in one tick (${swept})`);
    await host.processor.outboxFlushed();
    const members = (await m.app.inject({ method: 'GET', url: '/v1/audiences/viewers/members', headers: { authorization: `Bearer ${API_TOKEN}` } })).json();
    const left = members.members.map((x: { identities: { id: string }[] }) => x.identities[0]!.id);
    assert.ok(left.every((id: string) => id === 'late'), `everyone swept has left (${left.join(', ')})`);
  } finally {
    await m.close();
    cleanup();
  }
});

test('the audience timer re-evaluates only audiences that change with time; a change of the consent default is a backfill', async () => {
  const { dir, cleanup } = tempDir();
  const PROS = { name: 'pros', rule: { trait: 'plan', op: 'eq', value: 'pro' } };
  const RECENT = { name: 'recent_viewers', rule: { event: 'Product Viewed', within: '1d' } };
  const open = (audiences: object[], consent: 'granted' | 'denied' = 'granted') =>
    createMosaic(
      loadConfig({ env: {}, cwd: dir, overrides: { dataDir: dir, writeKey: WRITE_KEY, apiToken: API_TOKEN, logLevel: 'silent', processor: { mode: 'inline', enabled: false }, audiences, privacy: { consent: { default: consent } } } }),
      { logger: pino({ level: 'silent' }), metrics: new Metrics() },
    );
  type M = Awaited<ReturnType<typeof open>>;
  const audiencesOf = async (m: M, who: string) => (await m.app.inject({ method: 'GET', url: `/v1/profiles/user_id:${who}`, headers: { authorization: `Bearer ${API_TOKEN}` } })).json().audiences;
  try {
    const m = await open([PROS, RECENT]);
    const host = m.processor as InlineProcessorHost;
    await host.processor.sweepAll(); // the first start's backfill (of no profile) is done: the timer's passes are regular ones
    const r = await m.app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: basic(WRITE_KEY) }, payload: { batch: [{ type: 'identify', userId: 'ann', traits: { plan: 'pro' } }, { type: 'track', userId: 'ann', event: 'Product Viewed' }] } });
    assert.equal(r.statusCode, 200);
    await m.processor.drain();
    assert.deepEqual(await audiencesOf(m, 'ann'), ['pros', 'recent_viewers']);
    const later = Date.now() + 2 * DAY;
    await host.processor.sweepAll(later);
    assert.deepEqual(await audiencesOf(m, 'ann'), ['pros'], 'the window expired; the trait rule kept its member');
    // The 1-day window moves an hour at a time: within the same hour a pass is not due again.
    const hour = 3_600_000;
    const sameHour = Math.floor(later / hour) * hour + 1;
    assert.equal(await host.processor.sweepOnce(sameHour), 0, 'the pass of this hour was done');
    assert.equal(await host.processor.sweepOnce(sameHour + hour), 1, 'the next hour is a new pass');
    await m.close();

    // Only audiences that never change with time: the timer reads no profile.
    const still = await open([PROS]);
    const stillHost = still.processor as InlineProcessorHost;
    await stillHost.processor.sweepAll();
    assert.equal(await stillHost.processor.sweepOnce(Date.now() + 30 * DAY), 0);
    assert.deepEqual(await audiencesOf(still, 'ann'), ['pros']);
    await still.close();

    // Without a recorded choice ann is in no audience once the default is 'denied': a backfill says so.
    const denied = await open([PROS], 'denied');
    await (denied.processor as InlineProcessorHost).processor.sweepAll();
    assert.deepEqual(await audiencesOf(denied, 'ann'), []);
    await denied.close();
  } finally {
    cleanup();
  }
});

test('the audience timer: an empty store needs no backfill and no pass; a pass done this step is not done again after a restart', async () => {
  const { dir, cleanup } = tempDir();
  const RECENT = { name: 'recent_viewers', rule: { event: 'Product Viewed', within: '1d' } };
  const open = () =>
    createMosaic(loadConfig({ env: {}, cwd: dir, overrides: { dataDir: dir, writeKey: WRITE_KEY, apiToken: API_TOKEN, logLevel: 'silent', processor: { mode: 'inline', enabled: false }, audiences: [RECENT] } }), {
      logger: pino({ level: 'silent' }),
      metrics: new Metrics(),
    });
  const hour = 3_600_000;
  const startedIn = Math.floor(Date.now() / hour);
  try {
    const first = await open();
    const processor = (first.processor as InlineProcessorHost).processor;
    const r = await first.app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: basic(WRITE_KEY) }, payload: { batch: [{ type: 'track', userId: 'ann', event: 'Product Viewed' }] } });
    assert.equal(r.statusCode, 200);
    await first.processor.drain();
    const audience = (await first.app.inject({ method: 'GET', url: '/v1/audiences/recent_viewers', headers: { authorization: `Bearer ${API_TOKEN}` } })).json();
    assert.equal(audience.size, 1, 'ann was evaluated by her batch');
    assert.equal(audience.backfill ?? undefined, undefined, 'nothing to backfill on an empty store');
    assert.equal(await processor.sweepOnce(), 0, 'no regular pass due in the step the store was empty');
    assert.equal(await processor.sweepOnce(Date.now() + hour), 1, 'the next step is a pass');
    await first.close();

    // Restarted: no pass was done in this step, so one is due; after it, a restart does not do it again.
    const second = await open();
    assert.equal(await (second.processor as InlineProcessorHost).processor.sweepOnce(), 1);
    await second.close();
    const third = await open();
    const swept = await (third.processor as InlineProcessorHost).processor.sweepOnce();
    await third.close();
    if (Math.floor(Date.now() / hour) === startedIn) assert.equal(swept, 0, 'the pass of this step was done before the restart');
  } finally {
    cleanup();
  }
});
