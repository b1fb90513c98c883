import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AUDIENCE_EVENT_PREFIX, AUDIENCE_SOURCE_ID, AudienceError, audienceAppendRecord, audienceEventJson, compileAudiences, membershipChanges, type AudienceDef } from '../../src/core/audiences.js';
import { logSubjectOf } from '../../src/core/envelope.js';
import { partitionOf } from '../../src/core/partition.js';
import { validateMessage } from '../../src/collect/validate-message.js';

const view = (traits: Record<string, unknown>, computed: Record<string, unknown> = {}) => ({ traits, computed });

test('rules combine all, any, not, trait and computed comparisons, in, exists and contains', () => {
  const [a] = compileAudiences(
    [
      {
        name: 'target',
        rule: {
          all: [
            { any: [{ trait: 'country', op: 'in', value: ['FR', 'BE'] }, { trait: 'vip', op: 'eq', value: true }] },
            { computed: 'ltv', op: 'gt', value: 100 },
            { computed: 'favourites', op: 'contains', value: 'shoes' },
            { not: { trait: 'unsubscribed', op: 'exists' } },
          ],
        },
      },
    ],
    ['ltv', 'favourites'],
  );
  const yes = view({ country: 'FR' }, { ltv: 150, favourites: ['shoes', 'hats'] });
  assert.equal(a!.test(yes), true);
  assert.equal(a!.test({ ...yes, traits: { country: 'DE' } }), false);
  assert.equal(a!.test({ ...yes, traits: { country: 'DE', vip: true } }), true);
  assert.equal(a!.test({ ...yes, computed: { ltv: 50, favourites: ['shoes'] } }), false);
  assert.equal(a!.test({ ...yes, computed: { ltv: 150, favourites: ['hats'] } }), false);
  assert.equal(a!.test({ ...yes, traits: { country: 'FR', unsubscribed: false } }), false);
});

test('an event condition becomes a hidden windowed count with atLeast/atMost', () => {
  const [a] = compileAudiences([{ name: 'browsers', rule: { event: 'Product Viewed', where: [{ path: 'properties.category', op: 'eq', value: 'shoes' }], within: '7d', atLeast: 2, atMost: 5 } }], []);
  assert.deepEqual(a!.traits, [{ name: '_aud_browsers_0', op: 'count', event: 'Product Viewed', where: [{ path: 'properties.category', op: 'eq', value: 'shoes' }], window: '7d' }]);
  assert.equal(a!.test(view({}, { _aud_browsers_0: 1 })), false);
  assert.equal(a!.test(view({}, { _aud_browsers_0: 2 })), true);
  assert.equal(a!.test(view({}, { _aud_browsers_0: 6 })), false);
});

test('invalid audiences are refused with every problem named by path', () => {
  const bad = [
    { name: 'Bad Name', rule: { trait: 'x', op: 'eq', value: 1 } },
    { name: 'b', rule: { all: [] } },
    { name: 'c', rule: { computed: 'nope', op: 'gt', value: 1 } },
    { name: 'd', rule: { trait: 'x', op: 'gt', value: 'high' } },
    { name: 'e', rule: { event: 'X', within: 'soon', atLeast: -1 } },
    { name: 'f', rule: { trait: 'x', op: 'eq', value: 1, all: [] } },
  ] as unknown as AudienceDef[];
  try {
    compileAudiences(bad, ['orders']);
    assert.fail('should throw');
  } catch (err) {
    assert.ok(err instanceof AudienceError);
    const paths = err.problems.map((p) => p.path);
    assert.deepEqual(paths, ['/audiences/0/name', '/audiences/1/rule/all', '/audiences/2/rule/computed', '/audiences/3/rule/value', '/audiences/4/rule/within', '/audiences/4/rule/atLeast', '/audiences/5/rule']);
    assert.match(err.message, /"nope" is not a declared computed trait \(orders\)/);
  }
});

test('membership changes: enter, exit, and leave audiences that are no longer configured', () => {
  const audiences = compileAudiences([{ name: 'pros', rule: { trait: 'plan', op: 'eq', value: 'pro' } }], []);
  assert.deepEqual(membershipChanges('p1', view({ plan: 'pro' }), new Set(), audiences), [{ audience: 'pros', profileId: 'p1', kind: 'entered' }]);
  assert.deepEqual(membershipChanges('p1', view({ plan: 'pro' }), new Set(['pros']), audiences), []);
  assert.deepEqual(membershipChanges('p1', view({ plan: 'free' }), new Set(['pros', 'old']), audiences), [
    { audience: 'pros', profileId: 'p1', kind: 'exited' },
    { audience: 'old', profileId: 'p1', kind: 'exited' },
  ]);
  assert.deepEqual(membershipChanges('p1', undefined, new Set(['pros']), audiences), [{ audience: 'pros', profileId: 'p1', kind: 'exited' }], 'a profile merged away');
});

test('an audience changes with time when it reads a window or a time-dependent computed value, however deep in the rule', () => {
  const defs: AudienceDef[] = [
    { name: 'pros', rule: { trait: 'plan', op: 'eq', value: 'pro' } },
    { name: 'viewers', rule: { event: 'Product Viewed' } },
    { name: 'recent_viewers', rule: { not: { any: [{ trait: 'plan', op: 'eq', value: 'pro' }, { event: 'Product Viewed', within: '7d' }] } } },
    { name: 'buyers', rule: { computed: 'orders', op: 'gte', value: 1 } },
    { name: 'recent_buyers', rule: { all: [{ trait: 'plan', op: 'exists' }, { computed: 'orders_30d', op: 'gte', value: 1 }] } },
    { name: 'lapsed', rule: { computed: 'rfm.recencyDays', op: 'gt', value: 90 } },
  ];
  const timed = (list: ReturnType<typeof compileAudiences>) => list.filter((a) => a.changesWithTime).map((a) => a.def.name);
  assert.deepEqual(timed(compileAudiences(defs, ['orders', 'orders_30d', 'rfm'], ['orders_30d', 'rfm'])), ['recent_viewers', 'recent_buyers', 'lapsed']);
  // Told nothing of the computed values, every rule reading one is taken to change with time.
  assert.deepEqual(timed(compileAudiences(defs, ['orders', 'orders_30d', 'rfm'])), ['recent_viewers', 'buyers', 'recent_buyers', 'lapsed']);
});

test('membership changes for some audiences leave the memberships of the other configured ones alone', () => {
  const [pros, viewers] = compileAudiences(
    [
      { name: 'pros', rule: { trait: 'plan', op: 'eq', value: 'pro' } },
      { name: 'viewers', rule: { event: 'Product Viewed', within: '1d' } },
    ],
    [],
  );
  const now = view({ plan: 'free' }, { _aud_viewers_0: 0 });
  assert.deepEqual(membershipChanges('p1', now, new Set(['pros', 'viewers', 'old']), [viewers!], [pros!, viewers!]), [
    { audience: 'viewers', profileId: 'p1', kind: 'exited' },
    { audience: 'old', profileId: 'p1', kind: 'exited' },
  ]);
});

test('audience events: the JSON appended to the log is the Segment-style track event, with names and ids escaped', () => {
  const entered = JSON.parse(audienceEventJson(['entered', 'big "spenders"', 'p\\1', Date.UTC(2026, 11, 4, 10), 'userId', 'ann\n'])) as Record<string, unknown>;
  assert.deepEqual(entered, {
    type: 'track',
    event: 'Audience Entered',
    messageId: `aud-${Date.UTC(2026, 11, 4, 10)}-entered-big "spenders"-p\\1`,
    userId: 'ann\n',
    timestamp: '2026-12-04T10:00:00.000Z',
    receivedAt: '2026-12-04T10:00:00.000Z',
    sourceId: AUDIENCE_SOURCE_ID,
    properties: { audience_key: 'big "spenders"', profile_id: 'p\\1' },
    context: { library: { name: 'mosaic', version: '1' } },
  });
  const exited = JSON.parse(audienceEventJson(['exited', 'pros', 'p2', 0, 'anonymousId', 'a-2'])) as Record<string, unknown>;
  assert.equal(exited.event, 'Audience Exited');
  assert.equal(exited.anonymousId, 'a-2');
  assert.equal(exited.userId, undefined);
  assert.deepEqual(validateMessage(entered), [], 'a valid Segment message');
});

test('audience events: each begins with the prefix the processor skips them by, and its log record is attributed as a sent event would be', () => {
  for (const pending of [
    ['entered', 'pros', 'p1', 1_700_000_000_000, 'userId', 'ann'],
    ['exited', 'a"b', 'p\\2', 0, 'anonymousId', 'anon-7'],
  ] as const) {
    const json = audienceEventJson([...pending]);
    assert.ok(json.startsWith(AUDIENCE_EVENT_PREFIX));
    const e = JSON.parse(json) as { sourceId: string; messageId: string; userId?: string; anonymousId?: string };
    const record = audienceAppendRecord([...pending], 8, 42);
    assert.deepEqual(record, {
      partition: partitionOf(e.userId ?? e.anonymousId ?? '', 8),
      sourceId: e.sourceId,
      messageId: e.messageId,
      receivedAtMs: 42,
      payload: json,
      subject: logSubjectOf(e),
    });
  }
  assert.notEqual(audienceAppendRecord(['entered', 'pros', 'p1', 0, 'userId', 'ann'], 64, 0).partition, audienceAppendRecord(['entered', 'pros', 'p1', 0, 'userId', 'bob'], 64, 0).partition, 'partitioned by the person');
});
