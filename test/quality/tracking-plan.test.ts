import { test } from 'node:test';
import assert from 'node:assert/strict';
import { candidateSubjects, formatSubject, parseSubject, SubjectError } from '../../src/core/schema-subject.js';
import { TrackingPlan } from '../../src/quality/tracking-plan.js';
import type { SchemaVersion } from '../../src/ports/schema-registry.js';

const v = (subject: string, schema: Record<string, unknown>, version = 1): SchemaVersion => ({ subject, version, schema, compatibility: 'backward', createdAt: 0 });
const ORDER = v('track:Order Completed', {
  type: 'object',
  properties: { total: { type: 'number', minimum: 0 }, currency: { enum: ['EUR', 'USD'] }, email: { type: 'string', format: 'email' } },
  required: ['total'],
  additionalProperties: false,
}, 3);

test('subjects parse and print in one spelling; bad ones say why', () => {
  for (const s of ['track:Order Completed', 'identify', 'page', 'page:Pricing', 'web/track:Signed Up', 'track:Plan A/B Viewed']) assert.equal(formatSubject(parseSubject(s)), s);
  assert.deepEqual(parseSubject('track:Plan A/B Viewed'), { kind: 'track', name: 'Plan A/B Viewed' });
  assert.deepEqual(parseSubject('web/identify'), { kind: 'identify', source: 'web' });
  for (const bad of ['track', 'click:X', 'identify:x', 'we b/track:X', 'track: ']) assert.throws(() => parseSubject(bad), SubjectError, bad);
});

test('the most specific subject comes first', () => {
  assert.deepEqual(candidateSubjects('track', 'Order Completed', ['src_1', 'web']), ['src_1/track:Order Completed', 'web/track:Order Completed', 'track:Order Completed']);
  assert.deepEqual(candidateSubjects('page', 'Home', ['src_1']), ['src_1/page:Home', 'src_1/page', 'page:Home', 'page']);
  assert.deepEqual(candidateSubjects('identify', undefined, []), ['identify']);
  assert.deepEqual(candidateSubjects('alias', undefined, ['x']), []);
});

test('a valid event passes; each violation names its path, rule, value and schema', () => {
  const plan = new TrackingPlan([ORDER]);
  assert.equal(plan.check({ event: 'Order Completed', properties: { total: 12, currency: 'EUR' } }, 'track', ['src_1']), undefined);
  const r = plan.check({ event: 'Order Completed', properties: { total: '12', currency: 'GBP', email: 'nope', extra: 1 } }, 'track', ['src_1']);
  assert.equal(r?.subject, 'track:Order Completed');
  const byRule = Object.fromEntries(r!.violations.map((x) => [x.rule, x]));
  assert.deepEqual(Object.keys(byRule).sort(), ['additionalProperties', 'enum', 'format', 'type']);
  assert.deepEqual(byRule.type, { path: '/properties/total', rule: 'type', message: '/properties/total must be number', value: '12', schema: 'track:Order Completed@3' });
  assert.equal(byRule.enum!.value, 'GBP');
  assert.match(byRule.enum!.message, /must be one of "EUR", "USD"/);
  assert.equal(byRule.additionalProperties!.path, '/properties/extra');
  const missing = plan.check({ event: 'Order Completed', properties: {} }, 'track', [])!;
  assert.deepEqual(missing.violations, [{ path: '/properties/total', rule: 'required', message: '/properties/total "total" is required', schema: 'track:Order Completed@3' }]);
});

test('identify schemas check traits; a per-source schema wins over the general one', () => {
  const plan = new TrackingPlan([v('identify', { type: 'object', required: ['email'] }), v('web/identify', { type: 'object' })]);
  assert.equal(plan.check({ traits: {} }, 'identify', ['src_web', 'web']), undefined);
  assert.equal(plan.check({ traits: {} }, 'identify', ['src_app', 'app'])!.violations[0]!.path, '/traits/email');
});

test('unplanned events pass by default and break the plan when configured', () => {
  assert.equal(new TrackingPlan([ORDER]).check({ event: 'Other' }, 'track', []), undefined);
  const strict = new TrackingPlan([ORDER], 'violation');
  assert.deepEqual(strict.check({ event: 'Other' }, 'track', ['s'])!.violations, [{ path: '/event', rule: 'unplanned', message: 'no schema in the tracking plan describes "track:Other"', value: 'Other' }]);
  assert.equal(strict.check({ event: 'Order Completed', properties: { total: 1 } }, 'track', []), undefined);
});
