import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runTransformTest } from '../../src/cli/transform.js';
import { loadConfig } from '../../src/config.js';
import { MosaicError } from '../../src/errors.js';
import { Transformations } from '../../src/process/transformations.js';
import { env, tempDir } from '../helpers.js';

const FIXTURES = join(import.meta.dirname, '../../../test/fixtures/transformations');
const shop = { name: 'shop', file: join(FIXTURES, 'shop.js'), timeoutMs: 50 };

test('a transformation changes, drops, splits; errors, timeouts, invalid results and sandbox escapes are dead-lettered', async () => {
  const t = await Transformations.load([shop]);
  const events = ['Viewed', 'Debug', 'Order Completed', 'Boom', 'Hang', 'Bad', 'Escape'].map((name) => env({ type: 'track', userId: 'u', event: name, properties: { total: 12 } }));
  const refs = events.map((_, i) => ({ partition: 0, offset: i + 1 }));
  const r = t.run(events, refs);
  assert.deepEqual(r.events.map((e) => e.event), ['Viewed', 'Order Completed', 'Revenue']);
  assert.equal(r.events[0]!.properties!.tagged, true);
  assert.deepEqual(r.events[2]!.properties, { amount: 12 });
  assert.equal(r.events[2]!.messageId, `${events[2]!.messageId}:1`, 'split events get distinct, deterministic messageIds');
  assert.equal(r.events[2]!.sourceId, events[2]!.sourceId);
  assert.deepEqual(r.refs, [refs[0], refs[2], refs[2]]);
  assert.equal(r.dropped, 1);
  assert.deepEqual(
    r.deadLetters.map((d) => [JSON.parse(d.payload).event, d.reason]),
    [
      ['Boom', 'threw: cannot handle Boom'],
      ['Hang', 'timed out: still running after 50 ms (the budget)'],
      ['Bad', 'returned an event whose "type" is "nonsense", not one of identify, track, page, screen, group, alias'],
      ['Escape', 'threw: process is not defined'],
    ],
  );
  assert.ok(r.deadLetters.every((d) => d.kind === 'transformation' && d.name === 'shop'));
});

test('TypeScript transformations are compiled; modules that import are refused at load with their name', async () => {
  const t = await Transformations.load([{ name: 'typed', file: join(FIXTURES, 'typed.ts'), timeoutMs: 50 }]);
  const [out] = t.run([env({ type: 'track', userId: 'u', event: 'x', properties: { price: 19.99 } })]).events;
  assert.equal(out!.properties!.priceCents, 1999);
  await assert.rejects(Transformations.load([{ name: 'sneaky', file: join(FIXTURES, 'imports.js'), timeoutMs: 50 }]), (err: unknown) => {
    assert.ok(err instanceof MosaicError);
    assert.equal(err.code, 'MOSAIC_CONFIG_INVALID');
    assert.match(err.details[0]!.message, /transformation "sneaky".*cannot import modules/);
    return true;
  });
  await assert.rejects(Transformations.load([{ name: 'missing', file: join(FIXTURES, 'nope.js'), timeoutMs: 50 }]), (err: MosaicError) => /cannot read .*nope\.js/.test(err.details[0]!.message));
});

test('`mosaic transform test` runs one transformation on a sample and exits 1 when it would be dead-lettered', async () => {
  const { dir, cleanup } = tempDir();
  try {
    writeFileSync(join(dir, 'mosaic.yaml'), `transformations:\n  - { name: shop, file: ${join(FIXTURES, 'shop.js')} }\n`);
    const config = loadConfig({ env: {}, cwd: dir });
    writeFileSync(join(dir, 'ok.json'), JSON.stringify({ type: 'track', userId: 'u', event: 'Order Completed', properties: { total: 5 } }));
    writeFileSync(join(dir, 'boom.json'), JSON.stringify({ type: 'track', userId: 'u', event: 'Boom' }));
    let printed = '';
    assert.equal(await runTransformTest(config, 'shop', join(dir, 'ok.json'), (s) => (printed += s)), 0);
    assert.deepEqual(JSON.parse(printed).events.map((e: { event: string }) => e.event), ['Order Completed', 'Revenue']);
    printed = '';
    assert.equal(await runTransformTest(config, 'shop', join(dir, 'boom.json'), (s) => (printed += s)), 1);
    assert.deepEqual(JSON.parse(printed).deadLetters, [{ reason: 'threw: cannot handle Boom' }]);
  } finally {
    cleanup();
  }
});
