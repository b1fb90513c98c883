import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileAudiences } from '../../src/core/audiences.js';
import { consents, toPublicProfile } from '../../src/core/profile.js';
import { env, MemoryProfiles } from '../helpers.js';

const consent = (prefs: Record<string, unknown>) => ({ consent: { categoryPreferences: prefs } });

test('consent per purpose: the latest by event time wins, whatever order events arrive in; only booleans count', async () => {
  const events = [
    env({ type: 'track', userId: 'ann', event: 'A', timestamp: '2026-01-01T00:00:00.000Z', context: consent({ analytics: true, marketing: true }) }),
    env({ type: 'page', userId: 'ann', timestamp: '2026-01-02T00:00:00.000Z', context: consent({ marketing: false, personalization: 'yes' }) }),
    env({ type: 'track', userId: 'ann', event: 'B', timestamp: '2026-01-03T00:00:00.000Z' }),
  ];
  for (const order of [events, [...events].reverse()]) {
    const p = new MemoryProfiles();
    for (const e of order) await p.apply([e]);
    const doc = (await p.docOf('user_id:ann'))!;
    assert.deepEqual(toPublicProfile(doc).consent, { analytics: { granted: true, at: '2026-01-01T00:00:00.000Z' }, marketing: { granted: false, at: '2026-01-02T00:00:00.000Z' } });
    assert.equal(consents(doc, 'marketing'), false);
    assert.equal(consents(doc, 'personalization'), true, 'nothing recorded: the default, granted');
    assert.equal(consents(doc, 'personalization', { consentDefault: 'denied' }), false);
    assert.equal(doc.eventCount, 3);
  }
});

test('without personalization consent a person is in no audience, and leaves the ones they were in', async () => {
  const model = { audiences: compileAudiences([{ name: 'pros', rule: { trait: 'plan', op: 'eq', value: 'pro' } }], []) };
  const p = new MemoryProfiles(model);
  const r1 = await p.apply([env({ type: 'identify', userId: 'bo', traits: { plan: 'pro' }, timestamp: '2026-01-01T00:00:00.000Z' })]);
  assert.deepEqual(r1.transitions.map((t) => `${t.kind} ${t.audience}`), ['entered pros']);
  const r2 = await p.apply([env({ type: 'track', userId: 'bo', event: 'Settings Saved', timestamp: '2026-01-02T00:00:00.000Z', context: consent({ personalization: false }) })]);
  assert.deepEqual(r2.transitions.map((t) => `${t.kind} ${t.audience}`), ['exited pros']);
  const r3 = await p.apply([env({ type: 'track', userId: 'bo', event: 'Settings Saved', timestamp: '2026-01-03T00:00:00.000Z', context: consent({ personalization: true }) })]);
  assert.deepEqual(r3.transitions.map((t) => `${t.kind} ${t.audience}`), ['entered pros'], 'consent given again: back in');
});
