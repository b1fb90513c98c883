/**
 * The same events through the embedded engines and through NATS JetStream + PostgreSQL (the
 * processor in its worker thread, with its own connections) give the same profiles, audiences
 * and event lists.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { jetstreamManager } from '@nats-io/jetstream';
import pg from 'pg';
import { pino } from 'pino';
import { createMosaic, type Mosaic } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { Metrics } from '../../src/observe/metrics.js';
import { API_TOKEN, WRITE_KEY, basic, tempDir } from '../helpers.js';
import { NATS_URL, REDIS_URL, natsConnection, postgresDatabase, redisAvailable, uniqueName } from '../services.js';

const db = await postgresDatabase();
const nc = await natsConnection();
const redis = await redisAvailable();
const skip = 'skip' in db ? db.skip : 'skip' in nc ? nc.skip : redis !== true ? redis.skip : false;

/** 40 people browsing anonymously, half of them then identifying (merges across partitions). */
function events(): object[] {
  const out: object[] = [];
  const t0 = Date.UTC(2026, 10, 1);
  for (let i = 0; i < 400; i++) {
    const person = i % 40;
    const at = new Date(t0 + i * 60_000).toISOString();
    const ids = person % 2 === 0 && i >= 200 ? { userId: `user-${person}`, anonymousId: `anon-${person}` } : { anonymousId: `anon-${person}` };
    if (i % 10 === 0) out.push({ type: 'identify', ...ids, traits: { plan: person % 3 ? 'free' : 'pro' }, timestamp: at, messageId: `e-${i}` });
    else if (i % 10 < 4) out.push({ type: 'page', ...ids, name: 'Product', properties: { path: `/p/${i % 7}` }, timestamp: at, messageId: `e-${i}` });
    else out.push({ type: 'track', ...ids, event: i % 10 < 8 ? 'Product Viewed' : 'Order Completed', properties: { price: i % 90 }, timestamp: at, messageId: `e-${i}` });
  }
  return out;
}

const MODEL = {
  computedTraits: [
    { name: 'orders', op: 'count', event: 'Order Completed' },
    { name: 'spent', op: 'sum', event: 'Order Completed', property: 'properties.price' },
  ],
  audiences: [{ name: 'buyers', rule: { computed: 'orders', op: 'gte', value: 1 } }],
};

async function run(dir: string, engines: Record<string, unknown>): Promise<Record<string, unknown>> {
  const config = loadConfig({
    env: {},
    cwd: dir,
    overrides: { dataDir: dir, writeKey: WRITE_KEY, apiToken: API_TOKEN, logLevel: 'silent', processor: { mode: 'thread' }, ...MODEL, ...engines },
  });
  const m: Mosaic = await createMosaic(config, { logger: pino({ level: 'silent' }), metrics: new Metrics() });
  try {
    const all = events();
    for (let i = 0; i < all.length; i += 50) {
      const r = await m.app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: basic(WRITE_KEY) }, payload: { batch: all.slice(i, i + 50) } });
      assert.equal(r.statusCode, 200, r.body);
    }
    // Every 7th event again, together: the embedded log drops them at append; JetStream stores
    // this differently composed message and the processor drops them.
    const again = all.filter((_, i) => i % 7 === 0);
    const r = await m.app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: basic(WRITE_KEY) }, payload: { batch: again } });
    assert.equal(r.statusCode, 200, r.body);
    await m.processor.drain();
    const get = async (url: string) => (await m.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${API_TOKEN}` } })).json();
    const out: Record<string, unknown> = {};
    const metrics = (await m.app.inject({ method: 'GET', url: '/metrics' })).body;
    const counter = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(metrics)?.[1] ?? 0);
    out['repeats dropped'] = counter('mosaic_events_duplicate_total') + counter('mosaic_processor_duplicates_total');
    assert.equal(out['repeats dropped'], again.length);
    for (let p = 0; p < 40; p++) {
      const ref = p % 2 === 0 ? `user_id:user-${p}` : `anonymous_id:anon-${p}`;
      out[ref] = await get(`/v1/profiles/${ref}`);
      out[`${ref} events`] = (await get(`/v1/profiles/${ref}/events?limit=5`)).events?.map((e: { messageId: string }) => e.messageId);
    }
    out.buyers = (await get('/v1/audiences/buyers/members?limit=100')).members?.map((x: { profileId: string }) => x.profileId).sort();
    return out;
  } finally {
    await m.close();
  }
}

test('nats + postgres build the same profiles as the embedded engines', { skip }, async () => {
  if ('skip' in db || 'skip' in nc) return;
  const stream = uniqueName('mosaic_e2e').toUpperCase();
  after(() => jetstreamManager(nc).then((j) => j.streams.delete(stream)).catch(() => undefined));
  const a = tempDir();
  const b = tempDir();
  try {
    const embedded = await run(a.dir, {});
    const engines = await run(b.dir, { log: { url: NATS_URL, nats: { stream, subjectPrefix: stream.toLowerCase() } }, store: { url: db.url, schema: 'e2e' }, cache: { url: REDIS_URL, prefix: uniqueName('mosaic_e2e') } });
    assert.ok((embedded.buyers as string[]).length > 5, 'the workload makes buyers');
    assert.equal(((embedded['user_id:user-0'] as { identities: unknown[] }).identities).length, 2, 'anonymous and known merged');
    assert.deepEqual(engines, embedded);
    // And the events and profiles really went through the engines.
    // Many events per message: at least one per request, far fewer than one per event.
    const messages = (await (await jetstreamManager(nc)).streams.info(stream)).state.messages;
    assert.ok(messages >= 9 && messages < 400, `${messages} messages`);
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      assert.equal(Number((await c.query('SELECT count(*) AS n FROM e2e.profiles')).rows[0].n), 40);
    } finally {
      await c.end();
    }
  } finally {
    a.cleanup();
    b.cleanup();
  }
});

test('with the Redis cache, a read after a commit is never the older profile; with Redis unreachable, reads fall back to PostgreSQL', { skip }, async () => {
  if ('skip' in db || 'skip' in nc) return;
  const stream = uniqueName('mosaic_cache').toUpperCase();
  const prefix = uniqueName('mosaic_cache');
  const { dir, cleanup } = tempDir();
  const open = (cacheUrl: string) =>
    createMosaic(
      loadConfig({
        env: {},
        cwd: dir,
        overrides: { dataDir: dir, writeKey: WRITE_KEY, apiToken: API_TOKEN, logLevel: 'silent', processor: { mode: 'thread' }, log: { url: NATS_URL, nats: { stream, subjectPrefix: stream.toLowerCase() } }, store: { url: db.url, schema: 'cache' }, cache: { url: cacheUrl, prefix } },
      }),
      { logger: pino({ level: 'silent' }), metrics: new Metrics() },
    );
  after(() => jetstreamManager(nc).then((j) => j.streams.delete(stream)).catch(() => undefined));
  const m = await open(REDIS_URL);
  const send = async (batch: object[]) => {
    assert.equal((await m.app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: basic(WRITE_KEY) }, payload: { batch } })).statusCode, 200);
    await m.processor.drain();
  };
  const read = async (mm: Mosaic) => (await mm.app.inject({ method: 'GET', url: '/v1/profiles/user_id:ann', headers: { authorization: `Bearer ${API_TOKEN}` } })).json();
  try {
    await send([{ type: 'identify', userId: 'ann', traits: { plan: 'free' } }]);
    assert.equal((await read(m)).traits.plan, 'free');
    assert.equal((await read(m)).traits.plan, 'free', 'a cached read');
    const { Redis } = await import('ioredis');
    const r = new Redis(REDIS_URL);
    assert.ok((await r.keys(`${prefix}:*:v:*`)).length > 0, 'the profile is in Redis');
    for (let i = 0; i < 5; i++) {
      await send([{ type: 'identify', userId: 'ann', traits: { plan: `plan-${i}` }, timestamp: new Date(Date.now() + i * 1000).toISOString() }]);
      assert.equal((await read(m)).traits.plan, `plan-${i}`, 'the commit dropped the cached profile');
    }
    const keys = await r.keys(`${prefix}:*`);
    if (keys.length) await r.del(...keys);
    r.disconnect();
  } finally {
    await m.close();
  }
  const down = await open('redis://127.0.0.1:1');
  try {
    assert.equal((await read(down)).traits.plan, 'plan-4', 'read from PostgreSQL');
  } finally {
    await down.close();
    cleanup();
  }
});

after(async () => {
  if (!('skip' in nc)) await nc.close();
  if (!('skip' in db)) await db.drop();
});
