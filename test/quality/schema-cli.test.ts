import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteQuarantine } from '../../src/adapters/sqlite/quality-store.js';
import { tempDir } from '../helpers.js';

const run = (dir: string, ...args: string[]) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [join(import.meta.dirname, '../../src/cli/main.js'), ...args], { env: { ...process.env, MOSAIC_DATA_DIR: dir, MOSAIC_CONFIG: '' }, cwd: dir });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });

test('mosaic schema add|check|list|show: a breaking change is refused with its diff and exit 1', { timeout: 60_000 }, async () => {
  const { dir, cleanup } = tempDir();
  try {
    const v1 = join(dir, 'v1.json');
    const v2 = join(dir, 'v2.yaml');
    const v3 = join(dir, 'v3.json');
    writeFileSync(v1, JSON.stringify({ type: 'object', properties: { plan: { enum: ['free', 'pro'] }, seats: { type: 'integer' } }, required: ['plan'] }));
    writeFileSync(v2, 'type: object\nproperties:\n  plan: { enum: [free, pro, team] }\n  seats: { type: integer, minimum: 1 }\nrequired: [plan, seats]\n');
    writeFileSync(v3, JSON.stringify({ type: 'object', properties: { plan: { enum: ['free', 'pro', 'team'] }, seats: { type: 'integer' } }, required: ['plan'] }));

    const added = await run(dir, 'schema', 'add', 'identify', v1);
    assert.equal(added.status, 0, added.stderr);
    assert.match(added.stdout, /identify: version 1 registered \(backward\)/);

    const check = await run(dir, 'schema', 'check', 'identify', v2);
    assert.equal(check.status, 1);
    assert.match(check.stdout, /against version 1 \(backward\): 2 breaking changes/);
    assert.match(check.stdout, /✗ \/seats: now required \(breaks backward\)/);
    assert.match(check.stdout, /✗ \/seats: minimum any → 1 \(breaks backward\)/);
    assert.match(check.stdout, /· \/plan: enum accepts "team" \(breaks forward\)/);

    const refused = await run(dir, 'schema', 'add', 'identify', v2);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /MOSAIC_SCHEMA_INCOMPATIBLE: identify: version 2 breaks backward compatibility with version 1 \(2 breaking changes\)/);
    assert.match(refused.stderr, /\/seats: now required/);

    const ok = await run(dir, 'schema', 'add', 'identify', v3);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /identify: version 2 registered/);
    assert.match((await run(dir, 'schema', 'list')).stdout, /identify\s+v2\s+backward/);
    const shown = JSON.parse((await run(dir, 'schema', 'show', 'identify', '--version', '1')).stdout);
    assert.deepEqual([shown.version, shown.versions], [1, [1, 2]]);
    assert.match((await run(dir, 'schema', 'add', 'click', v1)).stderr, /MOSAIC_SCHEMA_SUBJECT_INVALID/);

    // The quarantine, read from the store with the server stopped.
    const q = new SqliteQuarantine({ dir });
    await q.add([{ receivedAtMs: Date.UTC(2026, 0, 1), sourceId: 'src_x', messageId: 'm1', subject: 'identify', violations: [{ path: '/traits/plan', rule: 'enum', message: 'bad plan', value: 'gold' }], payload: '{"type":"identify","userId":"u"}' }]);
    await q.close();
    const list = await run(dir, 'quarantine', 'list');
    assert.match(list.stdout, /pending by rule: enum: 1/);
    assert.match(list.stdout, /1\s+2026-01-01T00:00:00Z\s+identify\s+enum \/traits\/plan/);
    assert.deepEqual(JSON.parse((await run(dir, 'quarantine', 'show', '1')).stdout).payload, { type: 'identify', userId: 'u' });
    const replay = await run(dir, 'quarantine', 'replay', '--all', '--url', 'http://127.0.0.1:1', '--token', 'x'.repeat(16));
    assert.equal(replay.status, 1);
    assert.match(replay.stderr, /cannot reach Mosaic at http:\/\/127.0.0.1:1/);
  } finally {
    cleanup();
  }
});
