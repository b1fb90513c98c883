import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../src/config.js';
import { MosaicError } from '../../src/errors.js';
import { Pseudonymizer } from '../../src/core/pseudonymize.js';
import { VaultCipher } from '../../src/privacy/vault-cipher.js';
import { K1 } from '../conformance/vault.suite.js';
import { API_TOKEN, WRITE_KEY, basic, runCli, startMosaic } from '../helpers.js';
import { scanFiles } from './scan.js';

test('the vault cipher: a sealed value opens only under its own token, and not once changed', () => {
  const c = new VaultCipher([K1]);
  const sealed = c.seal('pii:k1:aaa', 'ann@example.io');
  assert.equal(c.open('pii:k1:aaa', 'v1', sealed), 'ann@example.io');
  assert.notDeepEqual(c.seal('pii:k1:aaa', 'ann@example.io'), sealed, 'a fresh IV each time');
  assert.throws(() => c.open('pii:k1:bbb', 'v1', sealed), 'moved under another token');
  const changed = Buffer.from(sealed);
  changed[changed.length - 1]! ^= 1;
  assert.throws(() => c.open('pii:k1:aaa', 'v1', changed), 'tampered');
  assert.throws(() => new VaultCipher([]), /at least one key/);
});

const KEYS = [{ id: 'k1', secret: 'test-secret-0123456789' }];
const RULES = [{ path: 'traits.email', method: 'hmac' as const }, { path: 'properties.card_holder', method: 'hmac' as const }];

test('the vault: pseudonymized values are kept sealed; a reveal needs the privacy scope and a reason, and each one is audited', { timeout: 60_000 }, async () => {
  const m = await startMosaic({ privacy: { keys: KEYS, pseudonymize: RULES, vault: { enabled: true, keys: [K1] } } });
  const p = new Pseudonymizer(RULES, KEYS);
  const ann = p.token('ann@example.io', 'email');
  const holder = p.token('Ann Example');
  const reveal = (token: string, reason: string | undefined, bearer = API_TOKEN) =>
    m.app.inject({ method: 'POST', url: '/v1/privacy/reveal', headers: { authorization: `Bearer ${bearer}` }, payload: { token, ...(reason !== undefined ? { reason } : {}) } });
  try {
    const batch = [
      { type: 'identify', userId: 'u1', traits: { email: 'Ann@Example.io' } },
      { type: 'track', userId: 'u1', event: 'Order Completed', properties: { card_holder: 'Ann Example' } },
    ];
    assert.equal((await m.app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: basic(WRITE_KEY) }, payload: { batch } })).statusCode, 200);
    // Stored nowhere raw, the vault included (sealed there).
    assert.deepEqual(await scanFiles(m.config.dataDir, ['Ann@Example.io', 'ann@example.io', 'Ann Example']), []);
    assert.ok((await scanFiles(m.config.dataDir, [ann])).some((h) => h.includes('vault.db')));

    const r = await reveal(ann, 'ticket DSR-42: confirm the address');
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.json().value, 'Ann@Example.io', 'as it was sent');
    assert.equal((await reveal(holder, 'chargeback 7781')).json().value, 'Ann Example');

    assert.equal((await reveal(ann, undefined)).statusCode, 400, 'no reason, no reveal');
    assert.equal((await reveal(ann, 'x')).statusCode, 400);
    const unknown = await reveal('pii:k1:nothing-here', 'looking around');
    assert.equal(unknown.json().error.code, 'MOSAIC_VAULT_NOT_FOUND');
    const reader = m.control.createToken('reader', ['profiles:read']).token;
    assert.equal((await reveal(ann, 'a reader tries', reader)).json().error.code, 'MOSAIC_AUTH_SCOPE');

    const audit = (await m.app.inject({ method: 'GET', url: '/v1/audit?action=vault.reveal', headers: { authorization: `Bearer ${API_TOKEN}` } })).json() as { entries: { subject: string; detail?: string; status: number; actor: string }[] };
    assert.deepEqual(
      audit.entries.map((e) => [e.subject, e.detail, e.status, e.actor]),
      [
        ['pii:k1:nothing-here', 'looking around', 404, 'env'],
        [holder, 'chargeback 7781', 200, 'env'],
        [ann, 'ticket DSR-42: confirm the address', 200, 'env'],
      ],
      'every use, found or not, with its reason',
    );

    // The CLI, against the running Mosaic.
    await m.app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(m.app.server.address() as AddressInfo).port}`;
    const out = await runCli(m.config.dataDir, ['privacy', 'reveal', ann, '--reason', 'cli check', '--url', url, '--token', API_TOKEN]);
    assert.equal(out.status, 0, out.stderr);
    assert.match(out.stdout, /^Ann@Example\.io\t\(kept .*; this reveal is in the audit trail\)/);
  } finally {
    await m.cleanup();
  }
});

test('the vault is off unless enabled; when on it needs its own keys', async () => {
  const m = await startMosaic({ privacy: { keys: KEYS, pseudonymize: RULES } });
  try {
    const r = await m.app.inject({ method: 'POST', url: '/v1/privacy/reveal', headers: { authorization: `Bearer ${API_TOKEN}` }, payload: { token: 'pii:k1:x', reason: 'is it on?' } });
    assert.equal(r.json().error.code, 'MOSAIC_VAULT_DISABLED');
  } finally {
    await m.cleanup();
  }
  const says = (re: RegExp) => (e: unknown) => e instanceof MosaicError && e.details.some((d) => re.test(d.message));
  const load = (vault: object) => () => loadConfig({ env: {}, cwd: '/tmp', overrides: { privacy: { keys: KEYS, pseudonymize: RULES, vault } } });
  assert.throws(load({ enabled: true }), says(/the vault needs a key/));
  assert.equal(load({ enabled: true, keys: [{ id: 'v1', secret: 'test-secret-0123456789-and-more-chars' }] })().privacy.vault.enabled, true);
  assert.throws(load({ enabled: true, keys: [{ id: 'v1', secret: 'short' }] }), says(/secret|fewer than 32/));
  const shared = { id: 'k1', secret: 'test-secret-0123456789-0123456789' };
  assert.throws(() => loadConfig({ env: {}, cwd: '/tmp', overrides: { privacy: { keys: [shared], pseudonymize: RULES, vault: { enabled: true, keys: [{ id: 'v1', secret: shared.secret }] } } } }), says(/also a pseudonymization key/));
  assert.equal(loadConfig({ env: { MOSAIC_VAULT_KEYS: `v1:${K1.secret}` }, cwd: '/tmp', overrides: { privacy: { keys: KEYS, pseudonymize: RULES, vault: { enabled: true } } } }).privacy.vault.keys[0]!.id, 'v1');
});
