/**
 * Crash test: load the collector, kill -9 it at random moments, restart, and check that every
 * messageId that got a 200 is in the log exactly once, and that the live profiles equal a
 * clean replay of the log. Runs the real CLI as a child process over a real socket.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { API_TOKEN, WRITE_KEY, tempDir } from '../helpers.js';

const CLI = join(import.meta.dirname, '../../src/cli/main.js');
const KILLS = 5;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function start(dir: string, port: number): ChildProcess {
  return spawn(process.execPath, [CLI, 'up'], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', MOSAIC_DATA_DIR: dir, MOSAIC_WRITE_KEY: WRITE_KEY, MOSAIC_API_TOKEN: API_TOKEN, MOSAIC_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function waitHealthy(base: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${base}/health`)).ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('mosaic did not come up');
}

const exited = (c: ChildProcess) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r())));

test('kill -9 at random moments loses no acknowledged event and double-counts nothing', { timeout: 120_000 }, async (t) => {
  const { dir, cleanup } = tempDir('mosaic-crash-');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const auth = 'Basic ' + Buffer.from(`${WRITE_KEY}:`).toString('base64');
  const acked = new Set<string>();
  const unacked: object[][] = []; // batches to resend after restart, as an SDK would
  let seq = 0;

  const makeBatch = () =>
    Array.from({ length: 20 }, () => {
      const n = seq++;
      const user = n % 97;
      const msg: Record<string, unknown> = { messageId: `crash-${n}`, anonymousId: `anon-${user}`, timestamp: new Date(Date.UTC(2026, 0, 1) + n).toISOString() };
      if (n % 5 === 0) Object.assign(msg, { type: 'identify', userId: `user-${user % 41}`, traits: { n, bucket: n % 3 } });
      else Object.assign(msg, { type: 'track', event: n % 2 ? 'Viewed' : 'Bought' });
      return msg;
    });

  async function send(batch: object[]): Promise<boolean> {
    try {
      const r = await fetch(`${base}/v1/batch`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify({ batch }) });
      if (r.status === 200) {
        for (const m of batch) acked.add((m as { messageId: string }).messageId);
        return true;
      }
      unacked.push(batch);
      return false;
    } catch {
      unacked.push(batch); // connection died with the server: the outcome is unknown
      return false;
    }
  }

  try {
    for (let round = 0; round <= KILLS; round++) {
      const child = start(dir, port);
      await waitHealthy(base);
      const retry = unacked.splice(0);
      await Promise.all(retry.map(send));
      let stop = false;
      const workers = Array.from({ length: 8 }, async () => {
        while (!stop) if (!(await send(makeBatch()))) await new Promise((r) => setTimeout(r, 5));
      });
      await new Promise((r) => setTimeout(r, 150 + Math.random() * 600));
      if (round < KILLS) {
        child.kill('SIGKILL');
        await exited(child);
        stop = true;
        await Promise.all(workers);
      } else {
        stop = true;
        await Promise.all(workers);
        await Promise.all(unacked.splice(0).map(send));
        for (let i = 0; i < 400; i++) {
          const h = (await (await fetch(`${base}/health`)).json()) as { processor: { lagEvents: number } };
          if (h.processor.lagEvents === 0) break;
          await new Promise((r) => setTimeout(r, 25));
        }
        child.kill('SIGTERM');
        await exited(child);
        assert.equal(child.exitCode, 0, 'graceful stop');
      }
    }
    assert.ok(acked.size > 1000, `enough load to matter: ${acked.size} acknowledged`);
    t.diagnostic(`${KILLS} kill -9s, ${acked.size} events acknowledged`);

    const log = new Database(join(dir, 'log.db'), { readonly: true });
    const counts = new Map<string, number>();
    const partitions = Number((log.prepare("SELECT value FROM meta WHERE key = 'partitions'").get() as { value: string }).value);
    for (let p = 0; p < partitions; p++) {
      for (const { payload } of log.prepare(`SELECT payload FROM log_p${p}`).all() as { payload: string }[]) {
        const id = (JSON.parse(payload) as { messageId: string }).messageId;
        counts.set(id, (counts.get(id) ?? 0) + 1);
      }
    }
    log.close();
    const missing = [...acked].filter((id) => !counts.has(id));
    assert.deepEqual(missing, [], 'every acknowledged event is in the log');
    const twice = [...counts].filter(([, n]) => n > 1);
    assert.deepEqual(twice, [], 'no event is in the log twice');

    const snapshot = () => {
      const db = new Database(join(dir, 'profiles.db'), { readonly: true });
      const clusters = db.prepare('SELECT id, doc FROM profiles ORDER BY id').all() as { id: string; doc: string }[];
      const parts = db.prepare('SELECT anchor, doc FROM parts ORDER BY anchor').all() as { anchor: string; doc: string }[];
      const ids = db.prepare('SELECT key, profile_id FROM identities ORDER BY key').all();
      db.close();
      return {
        clusters: clusters.map((r) => ({ id: r.id, doc: JSON.parse(r.doc) as unknown })),
        parts: parts.map((r) => ({ anchor: r.anchor, doc: JSON.parse(r.doc) as { eventCount: number } })),
        ids,
      };
    };
    const live = snapshot();
    const total = live.parts.reduce((a, r) => a + r.doc.eventCount, 0);
    assert.equal(total, counts.size, 'profiles count each logged event exactly once');

    const replay = spawnSync(process.execPath, [CLI, 'replay'], { env: { ...process.env, MOSAIC_DATA_DIR: dir, MOSAIC_LOG_LEVEL: 'warn' }, encoding: 'utf8' });
    assert.equal(replay.status, 0, replay.stderr);
    assert.deepEqual(snapshot(), live, 'a clean replay rebuilds identical profiles');
  } finally {
    cleanup();
  }
});
