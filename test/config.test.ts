import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { MosaicError } from '../src/errors.js';
import { tempDir } from './helpers.js';

test('defaults: port 8080, ./data, 8 partitions, fsync on commit, 24 h dedup', () => {
  const { dir, cleanup } = tempDir();
  try {
    const c = loadConfig({ env: {}, cwd: dir });
    assert.equal(c.port, 8080);
    assert.equal(c.dataDir, join(dir, 'data'));
    assert.equal(c.log.partitions, 8);
    assert.equal(c.log.sync, 'full');
    assert.equal(c.log.dedupWindowHours, 24);
    assert.equal(c.limits.messageBytes, 32 * 1024);
    assert.equal(c.limits.batchBytes, 500 * 1024);
  } finally {
    cleanup();
  }
});

test('environment overrides the YAML file', () => {
  const { dir, cleanup } = tempDir();
  try {
    writeFileSync(join(dir, 'mosaic.yaml'), 'port: 9000\nlog:\n  partitions: 4\n');
    const c = loadConfig({ env: { PORT: '9100', MOSAIC_DATA_DIR: '/tmp/x', MOSAIC_WRITE_KEY: 'wk_12345678', MOSAIC_API_TOKEN: 'tok_0123456789abcdef' }, cwd: dir });
    assert.equal(c.port, 9100);
    assert.equal(c.log.partitions, 4);
    assert.equal(c.dataDir, '/tmp/x');
    assert.equal(c.writeKey, 'wk_12345678');
    assert.equal(c.apiToken, 'tok_0123456789abcdef');
  } finally {
    cleanup();
  }
});

test('invalid configuration is refused with each problem named', () => {
  assert.throws(
    () => loadConfig({ env: { PORT: 'eighty' }, cwd: '/' }),
    (e: unknown) => e instanceof MosaicError && e.code === 'MOSAIC_CONFIG_INVALID' && e.details.some((d) => d.path === '/port'),
  );
  assert.throws(() => loadConfig({ env: {}, cwd: '/', overrides: { nope: 1 } }), MosaicError);
  assert.throws(() => loadConfig({ env: {}, cwd: '/', file: 'missing.yaml' }), /does not exist/);
});
