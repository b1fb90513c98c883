import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Worker } from 'node:worker_threads';
import { API_TOKEN, WRITE_KEY, basic, startMosaic } from '../helpers.js';

const until = async (what: string, fn: () => Promise<boolean>) => {
  for (let i = 0; i < 200; i++) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out: ${what}`);
};

test('a processor or log-writer thread that dies is restarted; nothing acknowledged is lost', { timeout: 30_000 }, async () => {
  const m = await startMosaic({ processor: { mode: 'thread' }, log: { writer: 'thread' } });
  const headers = { authorization: basic(WRITE_KEY), 'content-type': 'application/json' };
  const send = (userId: string) => m.app.inject({ method: 'POST', url: '/v1/track', headers, payload: { userId, event: 'E' } });
  const profile = (userId: string) => m.app.inject({ method: 'GET', url: `/v1/profiles/user_id:${userId}`, headers: { authorization: `Bearer ${API_TOKEN}` } });
  try {
    assert.equal((await send('before')).statusCode, 200);
    await until('first profile', async () => (await profile('before')).statusCode === 200);

    // The processor thread dies: while it is down, /metrics still answers; then it comes back.
    await ((m.processor as unknown as { worker: Worker }).worker.terminate());
    assert.equal((await send('during')).statusCode, 200);
    assert.equal((await m.app.inject({ method: 'GET', url: '/metrics' })).statusCode, 200);
    await until('profile after processor restart', async () => (await profile('during')).statusCode === 200);

    // The log writer thread dies: ingest answers 503 + Retry-After until it is back, then 200.
    await ((m.log as unknown as { thread: { worker: Worker } }).thread.worker.terminate());
    const refused = await send('while-writer-down');
    assert.equal(refused.statusCode, 503);
    assert.equal(refused.headers['retry-after'], '1');
    await until('writer restarted', async () => (await send('after')).statusCode === 200);
    await until('profile after writer restart', async () => (await profile('after')).statusCode === 200);
    assert.equal((await profile('while-writer-down')).statusCode, 404, 'a refused event was not stored');
  } finally {
    await m.cleanup();
  }
});
