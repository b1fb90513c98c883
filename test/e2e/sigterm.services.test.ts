/**
 * A graceful stop: SIGTERM makes a collector answer the requests it has already received (their
 * events stored) before it exits, and a processor finish and commit its current batch, then
 * hand its partitions over. Nothing acknowledged is lost, nothing is counted twice.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import pg from 'pg';
import { NatsEventLog } from '../../src/adapters/nats/event-log.js';
import { PostgresSubjectKeys } from '../../src/adapters/postgres/subject-keys.js';
import { ShreddingEventLog } from '../../src/adapters/shredding-event-log.js';
import { WRITE_KEY, basic, tempDir } from '../helpers.js';
import { NATS_URL, natsConnection, postgresDatabase, uniqueName } from '../services.js';
import { RoleProcesses } from './role-processes.js';

const db = await postgresDatabase();
const nc = await natsConnection();
const skip = 'skip' in db ? db.skip : 'skip' in nc ? nc.skip : false;

const batch = (n: number) => Array.from({ length: 100 }, (_, i) => ({ type: 'track', anonymousId: `a-${(n * 100 + i) % 500}`, event: 'Clicked', messageId: `st-${n}-${i}` }));

test('SIGTERM: a collector answers what it has received, a processor commits its batch and hands over', { skip, timeout: 300_000 }, async (t) => {
  if ('skip' in db || 'skip' in nc) return;
  const stream = uniqueName('mosaic_term').toUpperCase();
  const base = tempDir();
  const configFile = join(base.dir, 'mosaic.yaml');
  // Small batches: the processor is stopped with most of the backlog still to do.
  writeFileSync(configFile, `processor: { batchSize: 100 }\nlog:\n  partitions: 4\n  nats: { stream: ${stream}, subjectPrefix: ${stream.toLowerCase()} }\n`);
  const roles = new RoleProcesses(base.dir, configFile, db.url);
  after(async () => {
    roles.cleanup();
    base.cleanup();
    await (await jetstreamManager(nc)).streams.delete(stream).catch(() => undefined);
    await nc.close();
    await db.drop();
  });

  const began = performance.now();
  const at = () => `${((performance.now() - began) / 1000).toFixed(1)} s`;
  // A collector under constant load is stopped.
  const collector = roles.start('collect');
  await roles.ready(collector.url);
  const acknowledged = new Set<string>();
  let sent = 0;
  let termAt = 0;
  let answeredAfterTerm = 0;
  const post = async (n: number) => {
    const b = batch(n);
    const startedAt = performance.now();
    try {
      const r = await fetch(`${collector.url}/v1/batch`, { method: 'POST', headers: { authorization: basic(WRITE_KEY), 'content-type': 'application/json' }, body: JSON.stringify({ batch: b }) });
      if (r.status === 200) {
        for (const e of b) acknowledged.add(e.messageId);
        if (termAt && startedAt < termAt) answeredAfterTerm++;
      } else assert.equal(r.status, 503, await r.text());
      return true;
    } catch {
      return false; // refused: the server has closed
    }
  };
  const workers = Array.from({ length: 16 }, async () => {
    while (await post(sent++)) {
      if (sent > 400) return; // the collector did not stop
    }
  });
  while (sent < 60) await new Promise((r) => setTimeout(r, 5));
  termAt = performance.now();
  collector.child.kill('SIGTERM');
  await Promise.all(workers);
  assert.equal(await collector.exited, 0, roles.tails());
  // Not a benchmark: a shutdown held by its clients' keep-alive connections took 70 s.
  const stopSeconds = (performance.now() - termAt) / 1000;
  assert.ok(stopSeconds < 15, `the collector took ${stopSeconds.toFixed(1)} s to stop`);
  assert.match(readFileSync(collector.log, 'utf8'), /"msg":"stopped"/);
  assert.ok(answeredAfterTerm > 0, 'requests in flight at SIGTERM were answered');
  // Read as the processes wrote it: each person's entries encrypted under their key (crypto-shredding).
  const log = new ShreddingEventLog(await NatsEventLog.open({ url: NATS_URL, stream, subjectPrefix: stream.toLowerCase(), partitions: 4, dedupWindowMs: 60_000, maxPendingEvents: 10 }), await PostgresSubjectKeys.open({ url: db.url, schema: 'mosaic' }));
  const stored = new Set<string>();
  try {
    const ends = await log.endOffsets();
    for (let p = 0; p < 4; p++) {
      for (let from = 0; from < ends[p]!; ) {
        const got = await log.read(p, from, 10_000);
        if (got.length === 0) break;
        for (const e of got) stored.add((JSON.parse(e.payload) as { messageId: string }).messageId);
        from = got[got.length - 1]!.offset + 1;
      }
    }
  } finally {
    await log.close();
  }
  const lost = [...acknowledged].filter((id) => !stored.has(id));
  assert.deepEqual(lost.slice(0, 5), [], `${lost.length} acknowledged events are not in the log`);
  t.diagnostic(`${at()} collector: ${acknowledged.size} events acknowledged, ${answeredAfterTerm} requests answered after SIGTERM`);

  // A processor stopped mid-backlog, then another: every stored event counted exactly once.
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    const applied = async () => Number((await c.query("SELECT coalesce(sum((doc::json->>'eventCount')::int), 0) AS n FROM mosaic.parts").catch(() => ({ rows: [{ n: 0 }] }))).rows[0].n);
    const first = roles.start('process');
    for (let i = 0; (await applied()) === 0; i++) {
      assert.ok(i < 600, `the processor applied nothing in 60 s\n${roles.tails()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0, roles.tails());
    assert.match(readFileSync(first.log, 'utf8'), /"msg":"stopped"/);
    t.diagnostic(`${at()} first processor stopped after applying ${await applied()} of ${stored.size} events`);
    const second = roles.start('process');
    await roles.ready(second.url);
    for (let i = 0; (await applied()) < stored.size; i++) {
      assert.ok(i < 1200, `${await applied()} of ${stored.size} events applied after 120 s\n${roles.tails()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await applied(), stored.size, 'nothing counted twice');
    t.diagnostic(`${at()} second processor caught up`);
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0);
  } finally {
    await c.end();
  }
});
