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

test('the consent log: events that give consent are chained once; verify finds a changed and a removed entry', { timeout: 60_000 }, async () => {
  const { startMosaic, WRITE_KEY, basic } = await import('../helpers.js');
  const { spawn } = await import('node:child_process');
  const { join } = await import('node:path');
  const Database = (await import('better-sqlite3')).default;
  const m = await startMosaic({});
  const dir = m.config.dataDir;
  const send = (batch: object[]) => m.app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: basic(WRITE_KEY) }, payload: { batch } });
  const verify = () =>
    new Promise<{ status: number | null; stdout: string }>((resolve) => {
      const child = spawn(process.execPath, [join(import.meta.dirname, '../../src/cli/main.js'), 'privacy', 'verify'], { cwd: dir, env: { ...process.env, MOSAIC_DATA_DIR: dir } });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.on('close', (status) => resolve({ status, stdout }));
    });
  try {
    const batch = [
      { type: 'track', userId: 'ann', event: 'Consent Updated', messageId: 'c1', context: consent({ analytics: true, marketing: false, junk: 'x' }) },
      { type: 'page', anonymousId: 'a-1', messageId: 'c2', context: consent({ personalization: false }) },
      { type: 'track', userId: 'ann', event: 'Other', messageId: 'c3' },
    ];
    assert.equal((await send(batch)).statusCode, 200);
    assert.equal((await send(batch)).statusCode, 200, 'the same events again: duplicates, not new consent');
    const db = new Database(join(dir, 'privacy.db'));
    try {
      const rows = db.prepare('SELECT seq, subject, purposes, source FROM consent_log ORDER BY seq').all();
      assert.deepEqual(rows, [
        { seq: 1, subject: 'user_id:ann', purposes: '{"analytics":true,"marketing":false}', source: 'event' },
        { seq: 2, subject: 'anonymous_id:a-1', purposes: '{"personalization":false}', source: 'event' },
      ]);
      const ok = await verify();
      assert.equal(ok.status, 0);
      assert.match(ok.stdout, /consent log: 2 entries, the chain holds/);

      db.prepare(`UPDATE consent_log SET purposes = '{"analytics":true,"marketing":true}' WHERE seq = 1`).run();
      const changed = await verify();
      assert.equal(changed.status, 1);
      assert.match(changed.stdout, /BROKEN at entry 1: its content does not match its hash/);

      db.prepare(`UPDATE consent_log SET purposes = '{"analytics":true,"marketing":false}' WHERE seq = 1`).run();
      assert.equal((await verify()).status, 0, 'restored');
      db.prepare('DELETE FROM consent_log WHERE seq = 1').run();
      assert.match((await verify()).stdout, /BROKEN at entry 2: sequence jumps from 0 to 2/);
    } finally {
      db.close();
    }
  } finally {
    await m.cleanup();
  }
});
