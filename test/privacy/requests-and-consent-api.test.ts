import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendEnvelopes } from '../../src/process/emit.js';
import { addBusinessDays, newRequest } from '../../src/privacy/requests.js';
import { suppressionHash } from '../../src/privacy/suppression.js';
import { API_TOKEN, WRITE_KEY, basic, startMosaic } from '../helpers.js';

test('requests: confirm by 10 business days (weekends skipped), answer by 45 days', () => {
  const friday = Date.UTC(2026, 11, 4, 12);
  assert.equal(new Date(addBusinessDays(friday, 10)).toISOString(), '2026-12-18T12:00:00.000Z');
  assert.equal(new Date(addBusinessDays(Date.UTC(2026, 11, 5, 12), 1)).toISOString(), '2026-12-07T12:00:00.000Z', 'from a Saturday: Monday');
  const r = newRequest('erasure', 'user_id:1', 'tok_1', friday);
  assert.equal(r.dueBy - r.receivedAt, 45 * 86_400_000);
  assert.match(r.id, /^dsr_e_/);
});

test('consent API: recorded like consent on an event (profile, consent log); whose consent it is and booleans are required', { timeout: 30_000 }, async () => {
  const m = await startMosaic();
  try {
    const post = (payload: Record<string, unknown>, key = WRITE_KEY) => m.app.inject({ method: 'POST', url: '/v1/consent', headers: { authorization: basic(key) }, payload });
    const none = await post({ categoryPreferences: { marketing: false } });
    assert.equal(none.statusCode, 400);
    assert.equal(none.json().error.code, 'MOSAIC_MESSAGE_INVALID');
    assert.equal((await post({ userId: 'c1', categoryPreferences: { marketing: 'no' } })).statusCode, 400);
    assert.equal((await post({ userId: 'c1', categoryPreferences: {} })).statusCode, 400);
    assert.equal((await post({ userId: 'c1', categoryPreferences: { marketing: false } }, 'wk_wrong')).statusCode, 401);
    assert.equal((await post({ userId: 'c1', categoryPreferences: { marketing: false, analytics: true } })).statusCode, 200);
    await m.processor.drain();
    const profile = (await m.app.inject({ method: 'GET', url: '/v1/profiles/user_id:c1', headers: { authorization: `Bearer ${API_TOKEN}` } })).json();
    assert.equal(profile.consent.marketing.granted, false);
    assert.equal(profile.consent.analytics.granted, true);
    const exported = (await m.app.inject({ method: 'POST', url: '/v1/privacy/exports', headers: { authorization: `Bearer ${API_TOKEN}` }, payload: { subject: 'user_id:c1' } })).json();
    assert.equal(exported.summary.consentEntries, 1);
    assert.equal(exported.events.log[0].event, 'Segment Consent Preference Updated');
  } finally {
    await m.cleanup();
  }
});

test('suppression: the processor drops an erased person\'s events already in the log (a replay), and keeps everyone else\'s', { timeout: 30_000 }, async () => {
  const m = await startMosaic();
  try {
    // An erasure of someone with no profile yet: only their suppression is recorded.
    await m.processor.erase({ deleteClusters: [], memberships: [], erase: { nodes: [], edges: [], parts: [], outbox: [], deadLetters: [] }, suppress: [suppressionHash('user_id:gone')] }, ['user_id:gone']);
    const at = new Date().toISOString();
    const e = (userId: string, id: string) => JSON.stringify({ type: 'track', event: 'X', userId, messageId: id, timestamp: at, receivedAt: at, sourceId: 'src' });
    await appendEnvelopes(m.log, [e('gone', 'm1'), e('kept', 'm2')]);
    await m.processor.drain();
    assert.equal(await m.store.findCluster('user_id:gone'), undefined);
    assert.ok(await m.store.findCluster('user_id:kept'));
    const res = await m.app.inject({ method: 'GET', url: '/v1/privacy/requests/dsr_e_nope', headers: { authorization: `Bearer ${API_TOKEN}` } });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().error.code, 'MOSAIC_PRIVACY_REQUEST_NOT_FOUND');
  } finally {
    await m.cleanup();
  }
});
