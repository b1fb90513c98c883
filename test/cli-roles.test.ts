import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { tempDir } from './helpers.js';

test('mosaic collect|process|serve on the embedded engines refuse to start, saying what they need', () => {
  const { dir, cleanup } = tempDir();
  try {
    for (const role of ['collect', 'process', 'serve']) {
      const r = spawnSync(process.execPath, [join(import.meta.dirname, '../src/cli/main.js'), role], { env: { ...process.env, MOSAIC_DATA_DIR: dir, MOSAIC_LOG: '', MOSAIC_STORE: '' }, encoding: 'utf8' });
      assert.equal(r.status, 1, role);
      assert.match(r.stderr, /MOSAIC_CONFIG_INVALID: .*MOSAIC_LOG=nats:\/\/.*MOSAIC_STORE=postgres:\/\//);
    }
  } finally {
    cleanup();
  }
});

test('mosaic collect and serve as separate processes need the write key and admin token set, not made up per process', () => {
  const { dir, cleanup } = tempDir();
  try {
    const { MOSAIC_WRITE_KEY: _k, MOSAIC_API_TOKEN: _t, ...parent } = process.env;
    const run = (role: string, extra: Record<string, string>) =>
      spawnSync(process.execPath, [join(import.meta.dirname, '../src/cli/main.js'), role], {
        env: { ...parent, MOSAIC_DATA_DIR: dir, MOSAIC_LOG: 'nats://127.0.0.1:1', MOSAIC_STORE: 'postgres://127.0.0.1:1/x', ...extra },
        encoding: 'utf8',
      });
    const collect = run('collect', {});
    assert.equal(collect.status, 1);
    assert.match(collect.stderr, /MOSAIC_CONFIG_INVALID: mosaic collect needs MOSAIC_WRITE_KEY/);
    const serve = run('serve', { MOSAIC_WRITE_KEY: 'wk_test_key' });
    assert.equal(serve.status, 1);
    assert.match(serve.stderr, /MOSAIC_CONFIG_INVALID: mosaic serve needs MOSAIC_API_TOKEN/);
  } finally {
    cleanup();
  }
});
