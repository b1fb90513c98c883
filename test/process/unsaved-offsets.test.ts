import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AUDIENCE_EVENT_PREFIX } from '../../src/core/audiences.js';
import { appendEnvelopes } from '../../src/process/emit.js';
import { Processor } from '../../src/process/processor.js';
import { identityRules, profileModel } from '../../src/process/profile-model.js';
import type { InlineProcessorHost } from '../../src/process/processor-host.js';
import { allApplied as applied, API_TOKEN, audienceEventsInLog, sendEvent as send, startMosaic, until } from '../helpers.js';

type Mosaic = Awaited<ReturnType<typeof startMosaic>>;

/** Events in the log past the offsets as stored. */
const unstored = async (m: Mosaic) => {
  const stored = await m.store.readOffsets();
  return (await m.log.endOffsets()).reduce((sum, end, p) => sum + Math.max(0, end - (stored.get(p) ?? 1)), 0);
};

test('processor: a batch of audience events alone is not committed on its own; its offsets are stored with the next batch, or by drain', async () => {
  // pollMs long, so that the log going quiet while the test looks does not store the offsets.
  const m = await startMosaic({ processor: { pollMs: 60_000, lingerMs: 0 }, audiences: [{ name: 'planned', rule: { trait: 'plan', op: 'exists' } }] });
  const processor = (m.processor as InlineProcessorHost).processor;
  const allApplied = () => applied(m);
  try {
    await send(m, { type: 'identify', userId: 'ann', traits: { plan: 'pro' } });
    await until("ann's audience event to be applied", async () => (await audienceEventsInLog(m)) === 1 && (await allApplied()));
    assert.equal(await unstored(m), 1, "ann's audience event is read, and its offset not stored on its own");

    await send(m, { type: 'track', userId: 'cy', event: 'Signed Up' });
    await until("cy's event to be applied", allApplied);
    assert.equal(await unstored(m), 0, 'stored with the next batch of sent events');

    await send(m, { type: 'identify', userId: 'bob', traits: { plan: 'free' } });
    await until("bob's audience event to be applied", async () => (await audienceEventsInLog(m)) === 2 && (await allApplied()));
    assert.equal(await unstored(m), 1);

    // A processor that starts from the stored offsets (as after a crash) reads bob's audience
    // event again, and changes nothing.
    const again = new Processor(m.log, m.store, { batchSize: 100, pollMs: 10, rules: await identityRules(m.config, m.store), model: profileModel(m.config) });
    await again.init();
    const bob = async () => (await m.app.inject({ method: 'GET', url: '/v1/profiles/user_id:bob', headers: { authorization: `Bearer ${API_TOKEN}` } })).json() as object;
    const before = await bob();
    assert.equal(await again.runOnce(), 1, 'the audience event is read again');
    assert.deepEqual(await bob(), before);
    assert.equal((await m.store.audienceCounts()).get('planned'), 2, 'no membership counted twice');
    assert.equal(await m.store.readOutbox(10).then((o) => o.length), 0, 'no audience event made again');

    await processor.drain();
    assert.equal(await unstored(m), 0, 'drain stores what it reached');
  } finally {
    await m.cleanup();
  }
});

test('processor: offsets reached over audience events alone are stored once the log has been quiet for pollMs', async () => {
  const m = await startMosaic({ processor: { pollMs: 100, lingerMs: 0 }, audiences: [{ name: 'planned', rule: { trait: 'plan', op: 'exists' } }] });
  try {
    await send(m, { type: 'identify', userId: 'ann', traits: { plan: 'pro' } });
    await until("ann's audience event in the log", async () => (await audienceEventsInLog(m)) === 1);
    await until('every offset stored', async () => (await unstored(m)) === 0);
  } finally {
    await m.cleanup();
  }
});

test('processor: audience events appended before their JSON began with the sourceId are still read past, not applied', async () => {
  const m = await startMosaic({ processor: { pollMs: 60_000, lingerMs: 0 } });
  const profile = (ref: string) => m.app.inject({ method: 'GET', url: `/v1/profiles/${ref}`, headers: { authorization: `Bearer ${API_TOKEN}` } });
  try {
    // As audienceEventJson wrote them until 2026-12-04: the sourceId after the properties.
    const legacy = {
      type: 'track',
      event: 'Audience Entered',
      messageId: 'aud-1-entered-pros-p_legacy',
      userId: 'dee',
      timestamp: '2026-12-01T00:00:00.000Z',
      receivedAt: '2026-12-01T00:00:00.000Z',
      sourceId: 'mosaic:audiences',
      properties: { audience_key: 'pros', profile_id: 'p_legacy' },
    };
    assert.ok(!JSON.stringify(legacy).startsWith(AUDIENCE_EVENT_PREFIX));
    await appendEnvelopes(m.log, [JSON.stringify(legacy)]);
    await until('the legacy audience event to be read', () => applied(m));
    assert.equal(await unstored(m), 1, 'a batch of it alone is an audience-only batch: its offset waits for the next one');
    assert.equal((await profile('user_id:dee')).statusCode, 404, 'no profile made of it');

    await send(m, { type: 'track', userId: 'eve', event: 'Signed Up' });
    await until("eve's event to be applied", () => applied(m));
    assert.equal(await unstored(m), 0);
    assert.equal((await profile('user_id:eve')).statusCode, 200);
    assert.equal((await profile('user_id:dee')).statusCode, 404);
  } finally {
    await m.cleanup();
  }
});
