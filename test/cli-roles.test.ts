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
