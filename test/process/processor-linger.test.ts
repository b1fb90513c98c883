import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allApplied, API_TOKEN, audienceEventsInLog, sendEvent as send, startMosaic, tempDir, until } from '../helpers.js';

type Mosaic = Awaited<ReturnType<typeof startMosaic>>;

const profileOf = (m: Mosaic, userId: string) => async () => (await m.app.inject({ method: 'GET', url: `/v1/profiles/user_id:${userId}`, headers: { authorization: `Bearer ${API_TOKEN}` } })).statusCode === 200;

/** Milliseconds from sending bob's event until his profile is there. */
async function bobWaits(m: Mosaic): Promise<number> {
  const sent = Date.now();
  await send(m, { type: 'identify', userId: 'bob', traits: { plan: 'pro' } });
  await until("bob's profile", profileOf(m, 'bob'));
  return Date.now() - sent;
}

test('processor: the linger follows batches of sent events only, so the next event after a batch of audience events is applied at once', async () => {
  const LINGER_MS = 1500;
  const m = await startMosaic({ processor: { lingerMs: LINGER_MS, pollMs: 60_000 }, audiences: [{ name: 'planned', rule: { trait: 'plan', op: 'exists' } }] });
  try {
    await send(m, { type: 'identify', userId: 'ann', traits: { plan: 'pro' } });
    await until("ann's profile", profileOf(m, 'ann'));
    // ann entered the audience: its event is appended after her batch, and applied after the linger.
    await until('the audience event to be applied', async () => (await audienceEventsInLog(m)) === 1 && (await allApplied(m)));
    const waited = await bobWaits(m);
    assert.ok(waited < LINGER_MS / 2, `bob's event waited ${waited} ms: a linger followed the batch of audience events`);
  } finally {
    await m.cleanup();
  }
});

test('processor: the linger counts from the start of a slow batch, not from its end', async () => {
  const LINGER_MS = 2000;
  const SLOW_MS = 1000;
  const { dir, cleanup } = tempDir();
  const file = join(dir, 'slow.js');
  writeFileSync(file, `export default function (event) { if (event.userId === 'ann') { const end = Date.now() + ${SLOW_MS}; while (Date.now() < end); } return event; }\n`);
  const m = await startMosaic({ processor: { lingerMs: LINGER_MS, pollMs: 60_000 }, transformations: [{ name: 'slow', file, timeoutMs: 5000 }] });
  try {
    await send(m, { type: 'identify', userId: 'ann', traits: { plan: 'pro' } });
    await until("ann's profile", profileOf(m, 'ann'));
    // ann's batch took SLOW_MS of the linger: bob waits for the rest, not for a whole linger.
    const waited = await bobWaits(m);
    assert.ok(waited < LINGER_MS - SLOW_MS / 2, `bob's event waited ${waited} ms: the linger began after the slow batch ended`);
    assert.ok(waited > (LINGER_MS - SLOW_MS) / 2, `bob's event waited only ${waited} ms: no linger at all`);
  } finally {
    await m.cleanup();
    cleanup();
  }
});
