/**
 * Mosaic's roles as separate OS processes on NATS JetStream + PostgreSQL: 2 collectors, 3
 * processors and 1 API server. 100,000 events from 10,000 people whose anonymous and known
 * events sit on different partitions (every person is merged across partitions); one processor
 * is killed with SIGKILL mid-run and another one started. At the end every profile equals,
 * as canonical JSON, the one the embedded engines build from the same events in one process.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { pino } from 'pino';
import { createMosaic } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { Metrics } from '../../src/observe/metrics.js';
import { API_TOKEN, WRITE_KEY, basic, tempDir } from '../helpers.js';
import { natsConnection, postgresDatabase, uniqueName } from '../services.js';
import { RoleProcesses } from './role-processes.js';

/** MOSAIC_TEST_PEOPLE: fewer people for a quick look while developing. */
const PEOPLE = Number(process.env.MOSAIC_TEST_PEOPLE ?? 10_000);
const PER_PERSON = 10;

const db = await postgresDatabase();
const nc = await natsConnection();
const skip = 'skip' in db ? db.skip : 'skip' in nc ? nc.skip : false;

/** Event k of person p: six anonymous, then an identify joining both ids, then three known. */
function event(p: number, k: number): object {
  const timestamp = new Date(Date.UTC(2026, 10, 1) + (k * PEOPLE + p) * 1000).toISOString();
  const messageId = `mp-${p}-${k}`;
  if (k < 6) return k % 3 === 0 ? { type: 'page', anonymousId: `anon-${p}`, name: 'Home', timestamp, messageId } : { type: 'track', anonymousId: `anon-${p}`, event: 'Product Viewed', properties: { price: (p * 7 + k) % 100 }, timestamp, messageId };
  if (k === 6) return { type: 'identify', anonymousId: `anon-${p}`, userId: `user-${p}`, traits: { plan: p % 4 ? 'free' : 'pro' }, timestamp, messageId };
  return { type: 'track', userId: `user-${p}`, event: k === 9 && p % 3 === 0 ? 'Order Completed' : 'Product Viewed', properties: { price: (p * 7 + k) % 100 }, timestamp, messageId };
}

/** Round k carries event k of everyone, so merges happen everywhere at once. */
function batches(): object[][] {
  const out: object[][] = [];
  for (let k = 0; k < PER_PERSON; k++) for (let p = 0; p < PEOPLE; p += 100) out.push(Array.from({ length: 100 }, (_, i) => event(p + i, k)));
  return out;
}

const MODEL = `computedTraits:
  - { name: orders, op: count, event: Order Completed }
  - { name: spent, op: sum, event: Order Completed, property: properties.price }
  - { name: views, op: count, event: Product Viewed }
audiences:
  - { name: buyers, rule: { computed: orders, op: gte, value: 1 } }
`;

/** JSON with sorted keys: equal profiles compare equal whatever order their fields were built in. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

async function inParallel<T>(items: readonly T[], width: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  }));
}

test('2 collectors, 3 processors (one killed, one added) and an API server build the profiles the embedded engines build', { skip, timeout: 600_000 }, async (t) => {
  if ('skip' in db || 'skip' in nc) return;
  const stream = uniqueName('mosaic_mp').toUpperCase();
  const cleanups: (() => void)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) c();
    await (await jetstreamManager(nc)).streams.delete(stream).catch(() => undefined);
    await nc.close();
    await db.drop();
  });
  const base = tempDir();
  cleanups.push(base.cleanup);
  const configFile = join(base.dir, 'mosaic.yaml');
  writeFileSync(configFile, `${MODEL}log:\n  partitions: 8\n  nats: { stream: ${stream}, subjectPrefix: ${stream.toLowerCase()} }\n`);

  const roles = new RoleProcesses(base.dir, configFile, db.url);
  cleanups.push(() => roles.cleanup());
  const start = (role: 'collect' | 'process' | 'serve') => roles.start(role);
  const ready = (url: string) => roles.ready(url);
  const tails = () => roles.tails();

  const collectors = [start('collect'), start('collect')];
  const processors = [start('process'), start('process'), start('process')];
  const api = start('serve');
  for (const s of [...collectors, ...processors, api]) await ready(s.url);

  const all = batches();
  const started = performance.now();
  await inParallel(all, 8, async (batch, i) => {
    if (i === Math.floor(all.length * 0.4)) {
      processors[0]!.child.kill('SIGKILL');
      processors.push(start('process'));
    }
    const c = collectors[i % 2]!;
    for (;;) {
      const r = await fetch(`${c.url}/v1/batch`, { method: 'POST', headers: { authorization: basic(WRITE_KEY), 'content-type': 'application/json' }, body: JSON.stringify({ batch }) });
      if (r.status === 200) return;
      assert.ok(r.status === 503 || r.status === 429, `unexpected ${r.status}: ${await r.text()}`);
      await new Promise((res) => setTimeout(res, 200));
    }
  });

  const sent = performance.now();
  t.diagnostic(`${PEOPLE * PER_PERSON} events sent in ${((sent - started) / 1000).toFixed(1)} s`);
  // Caught up: the API server reads the processors' committed offsets against the log's ends.
  const lagOf = async () => ((await (await fetch(`${api.url}/health`)).json()) as { checks?: { processor: { lagEvents: number } }; processor?: { lagEvents: number } });
  for (let i = 0; ; i++) {
    const h = await lagOf();
    if ((h.checks?.processor ?? h.processor)!.lagEvents === 0) break;
    if (i >= 3000) {
      const states = await Promise.all(processors.map(async (s) => (await fetch(`${s.url}/health`).then((r) => r.json()).catch((e: unknown) => String(e))) as unknown));
      assert.fail(`processors did not catch up within 5 minutes: API ${JSON.stringify(h)}, processors ${JSON.stringify(states)}\n${tails()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  t.diagnostic(`processors caught up ${((performance.now() - sent) / 1000).toFixed(1)} s after the last event was sent`);
  // The reference: the same events through the embedded engines in this process.
  const ref = tempDir();
  cleanups.push(ref.cleanup);
  const embedded = await createMosaic(loadConfig({ env: {}, file: configFile, overrides: { dataDir: ref.dir, writeKey: WRITE_KEY, apiToken: API_TOKEN, logLevel: 'silent', processor: { mode: 'inline', enabled: false } } }), { logger: pino({ level: 'silent' }), metrics: new Metrics() });
  try {
    for (const batch of all) {
      const r = await embedded.app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: basic(WRITE_KEY) }, payload: { batch } });
      assert.equal(r.statusCode, 200);
    }
    await embedded.processor.drain();

    const auth = { authorization: `Bearer ${API_TOKEN}` };
    const differ: number[] = [];
    let example = '';
    let totalEvents = 0;
    await inParallel(Array.from({ length: PEOPLE }, (_, p) => p), 16, async (p) => {
      const url = `/v1/profiles/user_id:user-${p}`;
      const got = (await (await fetch(`${api.url}${url}`, { headers: auth })).json()) as { eventCount?: number };
      const want = (await embedded.app.inject({ method: 'GET', url, headers: auth })).json();
      if (canonical(got) !== canonical(want)) {
        differ.push(p);
        example ||= `person ${p}:\n  got  ${canonical(got)}\n  want ${canonical(want)}`;
      }
      totalEvents += got.eventCount ?? 0;
    });
    assert.deepEqual(differ.slice(0, 10), [], `${differ.length} profiles differ from the embedded ones, e.g. ${example}`);
    assert.equal(totalEvents, PEOPLE * PER_PERSON, 'nothing lost, nothing counted twice');
    // Every member, page by page through the cursor.
    const members = async (get: (u: string) => Promise<unknown>) => {
      const out: string[] = [];
      for (let cursor: string | null = ''; cursor !== null; ) {
        const page = (await get(`/v1/audiences/buyers/members?limit=1000${cursor ? `&cursor=${cursor}` : ''}`)) as { members: { profileId: string }[]; next: string | null };
        out.push(...page.members.map((m) => m.profileId));
        cursor = page.next;
      }
      return out.sort();
    };
    const buyers = await members(async (u) => (await fetch(`${api.url}${u}`, { headers: auth })).json());
    assert.equal(buyers.length, Math.ceil(PEOPLE / 3));
    assert.deepEqual(buyers, await members(async (u) => (await embedded.app.inject({ method: 'GET', url: u, headers: auth })).json()));
  } finally {
    await embedded.close();
  }
  for (const c of roles.children) c.kill('SIGTERM');
});
