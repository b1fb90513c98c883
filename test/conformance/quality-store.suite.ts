import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Quarantine, QuarantineEntry } from '../../src/ports/quarantine.js';
import type { SchemaRegistry } from '../../src/ports/schema-registry.js';
import type { ExpectationRuns, SuiteRun } from '../../src/ports/expectation-runs.js';

/** What every SchemaRegistry adapter must do. `make` returns a fresh, empty one; `second`, another process's view of it. */
export function schemaRegistryConformance(name: string, make: () => Promise<SchemaRegistry>, second: (first: SchemaRegistry) => Promise<SchemaRegistry>) {
  test(`${name}: versions per subject, latest of each, and a revision that moves`, async () => {
    const r = await make();
    try {
      assert.deepEqual(await r.latest(), []);
      const r0 = await r.revision();
      assert.equal(await r.insert({ subject: 'track:A', version: 1, schema: { type: 'object' }, compatibility: 'backward', createdAt: 1000 }), true);
      const r1 = await r.revision();
      assert.notEqual(r1, r0);
      assert.equal(await r.insert({ subject: 'track:A', version: 2, schema: { type: 'object', required: ['x'] }, compatibility: 'full', createdAt: 2000 }), true);
      assert.equal(await r.insert({ subject: 'identify', version: 1, schema: true, compatibility: 'none', createdAt: 3000 }), true);
      assert.notEqual(await r.revision(), r1);
      assert.deepEqual((await r.versions('track:A')).map((v) => [v.version, v.compatibility, v.createdAt]), [[1, 'backward', 1000], [2, 'full', 2000]]);
      assert.deepEqual((await r.versions('track:A'))[1]!.schema, { type: 'object', required: ['x'] });
      assert.deepEqual((await r.latest()).map((v) => [v.subject, v.version]), [['identify', 1], ['track:A', 2]]);
      assert.equal((await r.latest())[0]!.schema, true);
      assert.deepEqual(await r.versions('track:B'), []);
    } finally {
      await r.close();
    }
  });

  test(`${name}: a version number is taken once, whoever registers it`, async () => {
    const a = await make();
    const b = await second(a);
    try {
      const v = { subject: 'track:A', version: 1, schema: {}, compatibility: 'backward' as const, createdAt: 1 };
      const results = await Promise.all([a.insert(v), b.insert({ ...v, schema: { type: 'object' } })]);
      assert.deepEqual(results.sort(), [false, true]);
      assert.equal((await b.versions('track:A')).length, 1);
      assert.equal(await a.revision(), await b.revision());
    } finally {
      await b.close();
      await a.close();
    }
  });
}

const entry = (n: number, rules: string[], subject = 'track:A'): QuarantineEntry => ({
  receivedAtMs: 1_700_000_000_000 + n,
  sourceId: 'src_1',
  messageId: `m${n}`,
  subject,
  violations: rules.map((rule) => ({ path: `/properties/${rule}`, rule, message: `broke ${rule}`, value: n, schema: `${subject}@1` })),
  payload: JSON.stringify({ type: 'track', event: 'A', userId: `u${n}`, properties: { n } }),
  ...(n % 2 ? { batchSentAt: '2026-01-01T00:00:00.000Z', ip: '10.0.0.1' } : {}),
});

/** What every Quarantine adapter must do. `make` returns a fresh, empty one. */
export function quarantineConformance(name: string, make: () => Promise<Quarantine>) {
  test(`${name}: entries are kept whole, listed oldest first, filtered by rule and subject, paged`, async () => {
    const q = await make();
    try {
      await q.add([entry(1, ['type']), entry(2, ['required', 'type']), entry(3, ['enum'], 'identify')]);
      await q.add([]);
      const all = await q.list({ limit: 10 });
      assert.deepEqual(all.map((e) => e.messageId), ['m1', 'm2', 'm3']);
      const { id, ...first } = all[0]!;
      assert.ok(id > 0);
      assert.deepEqual(first, entry(1, ['type']));
      assert.deepEqual(await q.get(id), all[0]);
      assert.equal(await q.get(id + 1000), undefined);
      assert.deepEqual((await q.list({ limit: 10, rule: 'type' })).map((e) => e.messageId), ['m1', 'm2']);
      assert.deepEqual((await q.list({ limit: 10, rule: 'ype' })).map((e) => e.messageId), []);
      assert.deepEqual((await q.list({ limit: 10, subject: 'identify' })).map((e) => e.messageId), ['m3']);
      assert.deepEqual((await q.list({ limit: 1, afterId: all[0]!.id })).map((e) => e.messageId), ['m2']);
      assert.deepEqual(Object.fromEntries(await q.pendingByRule()), { type: 2, required: 1, enum: 1 });
      assert.deepEqual(Object.fromEntries(await q.pendingBySubject()), { identify: 1, 'track:A': 2 });
    } finally {
      await q.close();
    }
  });

  test(`${name}: replayed entries leave the pending list; new reasons replace the old`, async () => {
    const q = await make();
    try {
      await q.add([entry(1, ['type']), entry(2, ['type']), entry(3, ['type'])]);
      const [a, b, c] = await q.list({ limit: 10 });
      await q.markReplayed([a!.id, c!.id], 1_800_000_000_000);
      assert.deepEqual((await q.list({ limit: 10 })).map((e) => e.id), [b!.id]);
      assert.deepEqual((await q.list({ limit: 10, status: 'replayed' })).map((e) => e.id), [a!.id, c!.id]);
      assert.equal((await q.list({ limit: 10, status: 'all' })).length, 3);
      assert.equal((await q.get(a!.id))!.replayedAtMs, 1_800_000_000_000);
      await q.setViolations(b!.id, [{ path: '/properties/x', rule: 'required', message: 'x' }]);
      assert.deepEqual((await q.get(b!.id))!.violations, [{ path: '/properties/x', rule: 'required', message: 'x' }]);
      assert.deepEqual(Object.fromEntries(await q.pendingByRule()), { required: 1 });
      assert.deepEqual(Object.fromEntries(await q.pendingBySubject()), { 'track:A': 1 }, 'replayed ones are not pending');
      assert.deepEqual((await q.list({ limit: 10, rule: 'type' })).length, 0);
    } finally {
      await q.close();
    }
  });

  test(`${name}: removed entries are gone, pending or replayed`, async () => {
    const q = await make();
    try {
      await q.add([entry(1, ['type']), entry(2, ['type']), entry(3, ['type'])]);
      const [a, b, c] = await q.list({ limit: 10 });
      await q.markReplayed([a!.id], 1_800_000_000_000);
      assert.equal(await q.remove([a!.id, b!.id, 999_999]), 2);
      assert.deepEqual((await q.list({ limit: 10, status: 'all' })).map((e) => e.id), [c!.id]);
      assert.equal(await q.get(b!.id), undefined);
      assert.deepEqual(Object.fromEntries(await q.pendingByRule()), { type: 1 });
    } finally {
      await q.close();
    }
  });
}

const run = (suite: string, startedAt: number, status: SuiteRun['status']): SuiteRun => ({
  suite,
  table: 'events',
  startedAt,
  finishedAt: startedAt + 5,
  status,
  results: [{ name: 'not_null(user_id)', kind: 'not_null', status: status === 'pass' ? 'pass' : 'fail', message: 'm', observed: { nulls: status === 'pass' ? 0 : 3 }, examples: [1, 'a'] }],
});

/** What every ExpectationRuns adapter must do. `make` returns a fresh, empty one. */
export function expectationRunsConformance(name: string, make: () => Promise<ExpectationRuns>) {
  test(`${name}: runs kept whole, history newest first, the latest per suite`, async () => {
    const r = await make();
    try {
      assert.deepEqual(await r.latest(), []);
      await r.record(run('web', 1000, 'pass'));
      await r.record(run('crm', 2000, 'fail'));
      await r.record(run('web', 3000, 'fail'));
      assert.deepEqual((await r.history(undefined, 10)).map((x) => [x.suite, x.startedAt]), [['web', 3000], ['crm', 2000], ['web', 1000]]);
      assert.deepEqual((await r.history('web', 1)).map((x) => x.startedAt), [3000]);
      assert.deepEqual(await r.latest(), [run('crm', 2000, 'fail'), run('web', 3000, 'fail')]);
    } finally {
      await r.close();
    }
  });
}
