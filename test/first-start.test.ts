import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { createMosaic, lockDataDir } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { MosaicError } from '../src/errors.js';
import { Metrics } from '../src/observe/metrics.js';
import { basic, tempDir } from './helpers.js';

test('first start creates a write key and an admin token once; they work; later starts keep them', async () => {
  const { dir, cleanup } = tempDir();
  const open = () => createMosaic(loadConfig({ env: {}, cwd: dir, overrides: { dataDir: dir, logLevel: 'silent' } }), { logger: pino({ level: 'silent' }), metrics: new Metrics() });
  try {
    const first = await open();
    const { writeKey, apiToken } = first.created;
    assert.match(writeKey ?? '', /^wk_/);
    assert.match(apiToken ?? '', /^mt_/);
    const ingest = await first.app.inject({ method: 'POST', url: '/v1/identify', headers: { authorization: basic(writeKey!) }, payload: { userId: 'u1', traits: { a: 1 } } });
    assert.equal(ingest.statusCode, 200);
    await first.processor.drain();
    const read = await first.app.inject({ method: 'GET', url: '/v1/profiles/user_id:u1', headers: { authorization: `Bearer ${apiToken}` } });
    assert.equal(read.statusCode, 200);
    await first.close();

    const second = await open();
    assert.deepEqual(second.created, {}, 'nothing new is created or printed');
    assert.equal(second.writeKey, writeKey);
    const again = await second.app.inject({ method: 'GET', url: '/v1/profiles/user_id:u1', headers: { authorization: `Bearer ${apiToken}` } });
    assert.equal(again.statusCode, 200, 'the stored (hashed) token still works');
    await second.close();
  } finally {
    cleanup();
  }
});

test('a data directory is owned by one live process; a stale pid file from a crash is taken over', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${dir}/mosaic.pid`, String(process.ppid)); // a live process that is not us
    assert.throws(() => lockDataDir(dir), (e: unknown) => e instanceof MosaicError && e.code === 'MOSAIC_DATA_DIR_LOCKED');
    writeFileSync(`${dir}/mosaic.pid`, '2147483646'); // no such process
    const unlock = lockDataDir(dir);
    unlock();
  } finally {
    cleanup();
  }
});
