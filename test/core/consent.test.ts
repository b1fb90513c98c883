import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALWAYS_PERSONAL_PATHS, anonymizeEvent, statedConsent } from '../../src/core/consent.js';
import { env } from '../helpers.js';

test('an event states consent for a purpose only with a boolean under context.consent.categoryPreferences', () => {
  const e = env({ type: 'track', event: 'X', userId: 'u', context: { consent: { categoryPreferences: { analytics: false, marketing: 'yes' } } } });
  assert.equal(statedConsent(e, 'analytics'), false);
  assert.equal(statedConsent(e, 'marketing'), undefined);
  assert.equal(statedConsent(e, 'personalization'), undefined);
  assert.equal(statedConsent(env({ type: 'track', event: 'X', userId: 'u' }), 'analytics'), undefined);
  assert.equal(statedConsent(env({ type: 'track', event: 'X', userId: 'u', context: { consent: { categoryPreferences: [true] } } }), 'analytics'), undefined);
});

test('anonymizing an event removes who it is about and leaves what happened; the input is untouched', () => {
  const e = env({
    type: 'identify',
    userId: 'u-1',
    anonymousId: 'a-1',
    traits: { email: 'ann@example.io', plan: 'pro' },
    properties: { sku: 'S1', crm_id: 'C-9' },
    context: { ip: '203.0.113.9', userAgent: 'Mozilla/5.0', traits: { phone: '+1' }, device: { id: 'd-1', type: 'ios' }, page: { path: '/pricing' } },
  });
  const copy = structuredClone(e);
  const a = anonymizeEvent(e, [...ALWAYS_PERSONAL_PATHS, 'properties.crm_id']);
  assert.deepEqual(e, copy);
  assert.equal(a.userId, undefined);
  assert.equal(a.anonymousId, undefined);
  assert.equal(a.traits, undefined);
  assert.deepEqual(a.properties, { sku: 'S1' });
  assert.deepEqual(a.context, { device: { type: 'ios' }, page: { path: '/pricing' } });
  assert.equal(a.messageId, e.messageId);
  assert.equal(a.timestamp, e.timestamp);
  assert.doesNotMatch(JSON.stringify(a), /u-1|a-1|ann@|203\.0|d-1|C-9|Mozilla/);
});
