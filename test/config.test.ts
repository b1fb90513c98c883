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

test('`mosaic config check` prints identity rules, audiences, transformations and destinations; a bad audience fails naming its path', async () => {
  const { spawnSync } = await import('node:child_process');
  const cli = join(import.meta.dirname, '../src/cli/main.js');
  const { dir, cleanup } = tempDir();
  try {
    writeFileSync(
      join(dir, 'ok.yaml'),
      `computedTraits:\n  - { name: orders, op: count, event: Order Completed }\naudiences:\n  - { name: buyers, rule: { computed: orders, op: gte, value: 1 } }\ndestinations:\n  - { name: crm, url: "https://hooks.example.com/x", forward: { audiences: [buyers] } }\n`,
    );
    const ok = spawnSync(process.execPath, [cli, '--config', join(dir, 'ok.yaml'), 'config', 'check'], { encoding: 'utf8', env: { ...process.env, MOSAIC_DATA_DIR: dir } });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /identity \(priority order\): user_id ≤1, email \(hashed\) ≤5, phone \(hashed\) ≤5, device_id ≤10, anonymous_id ≤100/);
    assert.match(ok.stdout, /buyers: \{"computed":"orders","op":"gte","value":1\}/);
    assert.match(ok.stdout, /destinations: crm → https:\/\/hooks\.example\.com\/x/);
    writeFileSync(join(dir, 'bad.yaml'), `audiences:\n  - { name: buyers, rule: { computed: orders, op: gte, value: 1 } }\n`);
    const bad = spawnSync(process.execPath, [cli, '--config', join(dir, 'bad.yaml'), 'config', 'check'], { encoding: 'utf8', env: { ...process.env, MOSAIC_DATA_DIR: dir } });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /\/audiences\/0\/rule\/computed "orders" is not a declared computed trait/);
  } finally {
    cleanup();
  }
});

test('processor.storeSync accepts normal and off, and names the allowed values otherwise', () => {
  const { dir, cleanup } = tempDir();
  try {
    assert.equal(loadConfig({ env: {}, cwd: dir }).processor.storeSync, 'normal');
    assert.equal(loadConfig({ env: {}, cwd: dir, overrides: { processor: { storeSync: 'off' } } }).processor.storeSync, 'off');
    assert.throws(() => loadConfig({ env: {}, cwd: dir, overrides: { processor: { storeSync: 'sometimes' } } }), (err: MosaicError) => err.details.some((d) => d.path === '/processor/storeSync'));
  } finally {
    cleanup();
  }
});

test('personalization settings: placements, experiments, text; each mistake named by its path; config check prints them', async () => {
  const { spawnSync } = await import('node:child_process');
  const cli = join(import.meta.dirname, '../src/cli/main.js');
  const { dir, cleanup } = tempDir();
  const load = (personalization: unknown, extra: Record<string, unknown> = {}) => loadConfig({ env: {}, cwd: dir, overrides: { personalization, ...extra } });
  const pathOf = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      return (err as MosaicError).details.map((d) => d.path ?? "");
    }
    return [];
  };
  try {
    const c = load({ placements: { home: { experiment: { name: 'e1', variants: [{ name: 'a', weight: 1 }, { name: 'b', weight: 2, strategy: { popular: 1 } }] } } } });
    assert.deepEqual(c.personalization.placements.home!.rules, { excludePurchased: true, excludeViewed: false, availableOnly: true, maxPerCategory: 0 }, 'defaults inside a placement');
    assert.equal(c.personalization.placements.home!.limit, 10);
    assert.deepEqual(Object.keys(load({}).personalization.placements), ['default']);
    assert.deepEqual(pathOf(() => load({ placements: { home: { content: [{ audience: 'nobody', items: ['x'] }] } } })), ['/personalization/placements/home/content/0/audience']);
    assert.deepEqual(pathOf(() => load({ placements: { a: { experiment: { name: 'e', variants: [{ name: 'x', weight: 1 }, { name: 'x', weight: 1 }] } } } })), ['/personalization/placements/a/experiment/variants']);
    assert.deepEqual(pathOf(() => load({ placements: { a: { experiment: { name: 'e', variants: [{ name: 'x', weight: 1 }, { name: 'y', weight: 1 }] } }, b: { experiment: { name: 'e', variants: [{ name: 'x', weight: 1 }, { name: 'y', weight: 1 }] } } } })), ['/personalization/placements/b/experiment/name']);
    assert.ok(pathOf(() => load({ placements: { a: { strategy: { magic: 1 } } } })).some((p) => p.startsWith('/personalization/placements/a/strategy')));
    assert.ok(pathOf(() => load({ embedder: { kind: 'http', dimensions: 8 } })).some((p) => p.startsWith('/personalization/embedder')), 'an HTTP embedder needs its url');
    // Text signals are rule values only when text is configured.
    const rule = { audiences: [{ name: 'unhappy', rule: { computed: 'text_sentiment', op: 'lt', value: 0 } }] };
    assert.deepEqual(pathOf(() => load({}, rule)), ['/audiences/0/rule/computed']);
    assert.equal(load({ text: { sources: [{ event: 'Review Submitted', path: 'properties.body' }] } }, rule).audiences.length, 1);

    writeFileSync(join(dir, 'p.yaml'), 'personalization:\n  placements:\n    home: { strategy: { cooccurrence: 2, popular: 1 }, experiment: { name: e1, variants: [{ name: a, weight: 1 }, { name: b, weight: 1 }] } }\n  text: { sources: [{ event: Review Submitted, path: properties.body }] }\n');
    const ok = spawnSync(process.execPath, [cli, '--config', join(dir, 'p.yaml'), 'config', 'check'], { encoding: 'utf8', env: { ...process.env, MOSAIC_DATA_DIR: dir } });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /personalization: on; interactions "Product Viewed" \(view\).*embedder hashing \(256 dims\)/);
    assert.match(ok.stdout, /placement home: \{"cooccurrence":2,"popular":1\}, experiment e1 \(a ×1, b ×1\)/);
    assert.match(ok.stdout, /text signals: "Review Submitted" properties\.body \(raw text dropped\)/);
  } finally {
    cleanup();
  }
});
