/**
 * Erasure on a log that cannot remove single events: NATS JetStream, whose messages each hold
 * many people's events. Each person's entries are encrypted under their own key
 * (crypto-shredding); the erasure destroys the keys.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { jetstreamManager } from '@nats-io/jetstream';
import pg from 'pg';
import { pino } from 'pino';
import { openEventLog } from '../../src/adapters/from-config.js';
import { createMosaic } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { Metrics } from '../../src/observe/metrics.js';
import { API_TOKEN, WRITE_KEY, basic, tempDir } from '../helpers.js';
import { NATS_URL, natsConnection, postgresDatabase, uniqueName } from '../services.js';

const db = await postgresDatabase();
const nc = await natsConnection();
const skip = 'skip' in db ? db.skip : 'skip' in nc ? nc.skip : false;
after(async () => {
  if (!('skip' in nc)) await nc.close();
  if (!('skip' in db)) await db.drop();
});

const ERIN = { userId: 'u-shred-4471', anonymousId: 'anon-shred-9012' };
const KIM = { userId: 'u-keep-2210', anonymousId: 'anon-keep-3345' };
const events = (who: typeof ERIN, tag: string) => [
  { type: 'track', anonymousId: who.anonymousId, event: 'Product Viewed', messageId: `${tag}-1` },
  { type: 'identify', anonymousId: who.anonymousId, userId: who.userId, traits: { plan: 'pro', nickname: `${tag}-the-nick` }, messageId: `${tag}-2` },
  { type: 'track', userId: who.userId, event: 'Order Completed', properties: { total: 42 }, messageId: `${tag}-3` },
];

test('erasure on NATS: the person’s entries are encrypted under their keys, which the erasure destroys; everyone else’s stay readable', { skip, timeout: 60_000 }, async () => {
  if ('skip' in db || 'skip' in nc) return;
  const stream = uniqueName('mosaic_shred').toUpperCase();
  const schema = uniqueName('shred');
  after(() => jetstreamManager(nc).then((j) => j.streams.delete(stream)).catch(() => undefined));
  const { dir, cleanup } = tempDir();
  const config = loadConfig({
    env: {},
    cwd: dir,
    overrides: { dataDir: dir, writeKey: WRITE_KEY, apiToken: API_TOKEN, logLevel: 'silent', processor: { mode: 'inline' }, log: { url: NATS_URL, nats: { stream, subjectPrefix: stream.toLowerCase() } }, store: { url: db.url, schema } },
  });
  const m = await createMosaic(config, { logger: pino({ level: 'silent' }), metrics: new Metrics() });
  const admin = { authorization: `Bearer ${API_TOKEN}` };
  const jsm = await jetstreamManager(nc);
  /** Every stored message's bytes, as JetStream holds them. */
  const raw = async () => {
    const info = await jsm.streams.info(stream);
    const out: string[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const msg = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
      if (msg) out.push(new TextDecoder().decode(msg.data));
    }
    return out.join('\n');
  };
  try {
    assert.equal(m.log.shred !== undefined && m.log.erase === undefined, true, 'NATS cannot erase: the log shreds');
    // Both people in the same requests: their events share JetStream messages.
    const both = [...events(ERIN, 'erin'), ...events(KIM, 'kim')];
    assert.equal((await m.app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: basic(WRITE_KEY) }, payload: { batch: both } })).statusCode, 200);
    await m.processor.drain();
    const stored = await raw();
    for (const needle of [ERIN.userId, ERIN.anonymousId, 'erin-the-nick', KIM.userId]) assert.ok(!stored.includes(needle), `${needle} is not in clear in JetStream`);
    assert.equal((await m.app.inject({ method: 'GET', url: `/v1/profiles/user_id:${ERIN.userId}`, headers: admin })).json().eventCount, 3);

    const asked = await m.app.inject({ method: 'POST', url: '/v1/privacy/erasures', headers: admin, payload: { subject: `user_id:${ERIN.userId}` } });
    assert.equal(asked.statusCode, 202, asked.body);
    let request: { status: string; summary?: { logEvents: number; logKeysShredded: number; profiles: number } } = { status: 'received' };
    for (let i = 0; i < 200 && !['completed', 'failed'].includes(request.status); i++) {
      await new Promise((r) => setTimeout(r, 50));
      request = (await m.app.inject({ method: 'GET', url: `/v1/privacy/requests/${asked.json().request.id as string}`, headers: admin })).json().request;
    }
    assert.equal(request.status, 'completed', JSON.stringify(request));
    assert.deepEqual([request.summary!.profiles, request.summary!.logEvents, request.summary!.logKeysShredded], [1, 3, 2]);
    assert.equal(await raw(), stored, 'JetStream still holds the same bytes: only the keys are gone');

    // A new reader of the whole log (as a replay would read it) finds none of hers, all of Kim's.
    const reader = await openEventLog(config, 'replay');
    try {
      const seen: string[] = [];
      const ends = await reader.endOffsets();
      for (let p = 0; p < reader.partitions; p++) {
        for (let at = 1; at < ends[p]!; ) {
          const page = await reader.read(p, at, 1000);
          if (!page.length) break;
          for (const e of page) seen.push((JSON.parse(e.payload) as { messageId: string }).messageId);
          at = page[page.length - 1]!.offset + 1;
        }
      }
      assert.deepEqual(seen.sort(), ['kim-1', 'kim-2', 'kim-3']);
    } finally {
      await reader.close();
    }
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      assert.equal(Number((await c.query(`SELECT count(*) AS n FROM ${schema}.subject_keys`)).rows[0].n), 2, 'Kim’s two keys');
    } finally {
      await c.end();
    }
    assert.equal((await m.app.inject({ method: 'GET', url: `/v1/profiles/user_id:${KIM.userId}`, headers: admin })).json().eventCount, 3);
  } finally {
    await m.close();
    cleanup();
  }
});
