import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { API_TOKEN, WRITE_KEY, basic, runCli, startMosaic } from '../helpers.js';

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

/** `mosaic token …` on the data dir of a running Mosaic. */
const cli = (dir: string, ...args: string[]) => runCli(dir, ['token', ...args]);

test('scoped tokens: each opens its own routes and no others; revoked ones are refused; write keys and tokens do not stand in for each other', { timeout: 60_000 }, async () => {
  const m = await startMosaic({ privacy: { consent: { default: 'granted' } } });
  const req = (method: 'GET' | 'POST' | 'DELETE', url: string, token: string, payload?: object) => m.app.inject({ method, url, headers: bearer(token), ...(payload ? { payload } : {}) });
  try {
    assert.equal((await m.app.inject({ method: 'POST', url: '/v1/identify', headers: { authorization: basic(WRITE_KEY) }, payload: { userId: 'u1', traits: { plan: 'pro' } } })).statusCode, 200);
    await m.processor.drain();

    // Created through the API (admin only); the secret is in the answer, and nowhere else.
    const made = await req('POST', '/v1/tokens', API_TOKEN, { label: 'web', scopes: ['profiles:read'] });
    assert.equal(made.statusCode, 201, made.body);
    const reader = made.json() as { id: string; token: string; scopes: string[] };
    assert.deepEqual(reader.scopes, ['profiles:read']);
    assert.match(reader.token, /^mt_/);
    const sql = m.control.createToken('analyst', ['sql']);
    const routes: { url: string; method: 'GET' | 'POST'; scope: string; payload?: object }[] = [
      { url: '/v1/profiles/user_id:u1', method: 'GET', scope: 'profiles:read' },
      { url: '/v1/audiences', method: 'GET', scope: 'profiles:read' },
      { url: '/v1/sql', method: 'POST', scope: 'sql', payload: { query: 'SELECT 1 AS one' } },
      { url: '/v1/privacy/requests', method: 'GET', scope: 'privacy' },
      { url: '/v1/audit', method: 'GET', scope: 'privacy' },
      { url: '/v1/dead-letters', method: 'GET', scope: 'admin' },
      { url: '/v1/tokens', method: 'GET', scope: 'admin' },
    ];
    for (const r of routes) {
      for (const [name, token] of [['profiles:read', reader.token], ['sql', sql.token]] as const) {
        const res = await req(r.method, r.url, token, r.payload);
        if (name === r.scope) assert.equal(res.statusCode, 200, `${name} on ${r.url}: ${res.body}`);
        else {
          assert.equal(res.statusCode, 403, `${name} on ${r.url}`);
          assert.equal(res.json().error.code, 'MOSAIC_AUTH_SCOPE');
          assert.match(res.json().error.message, new RegExp(`needs "${r.scope}"`));
        }
      }
      assert.equal((await req(r.method, r.url, API_TOKEN, r.payload)).statusCode, 200, `admin on ${r.url}`);
      // A write key is never a token, and no admin route answers a browser's CORS preflight.
      const wk = await req(r.method, r.url, WRITE_KEY, r.payload);
      assert.equal(wk.json().error.code, 'MOSAIC_AUTH_TOKEN_INVALID');
      const pre = await m.app.inject({ method: 'OPTIONS', url: r.url, headers: { origin: 'https://evil.example', 'access-control-request-method': r.method } });
      assert.equal(pre.headers['access-control-allow-origin'], undefined, `CORS on ${r.url}`);
      const withOrigin = await m.app.inject({ method: r.method, url: r.url, headers: { ...bearer(API_TOKEN), origin: 'https://evil.example' }, ...(r.payload ? { payload: r.payload } : {}) });
      assert.equal(withOrigin.headers['access-control-allow-origin'], undefined);
    }
    // A token is not a write key either.
    assert.equal((await m.app.inject({ method: 'POST', url: '/v1/track', headers: { authorization: basic(API_TOKEN) }, payload: { userId: 'u1', event: 'X' } })).json().error.code, 'MOSAIC_AUTH_WRITE_KEY_INVALID');

    // The audit trail names the token that read.
    const audit = (await req('GET', '/v1/audit?action=profile.read', API_TOKEN)).json() as { entries: { actor: string }[] };
    assert.ok(audit.entries.some((e) => e.actor === reader.id), JSON.stringify(audit));

    // Listed without secrets; revoked: refused at the next request; revoking an unknown id is a 404.
    const listed = await req('GET', '/v1/tokens', API_TOKEN);
    assert.ok(!listed.body.includes(reader.token) && !listed.body.includes(sql.token));
    assert.ok((listed.json() as { tokens: { id: string }[] }).tokens.some((t) => t.id === reader.id));
    assert.equal((await req('DELETE', `/v1/tokens/${reader.id}`, API_TOKEN)).statusCode, 200);
    const after = await req('GET', '/v1/profiles/user_id:u1', reader.token);
    assert.equal(after.statusCode, 401);
    assert.equal(after.json().error.code, 'MOSAIC_AUTH_TOKEN_INVALID');
    assert.equal((await req('DELETE', '/v1/tokens/tok_nope', API_TOKEN)).json().error.code, 'MOSAIC_TOKEN_NOT_FOUND');
    assert.equal((await req('POST', '/v1/tokens', API_TOKEN, { scopes: ['root'] })).statusCode, 400);
    assert.equal((await req('POST', '/v1/tokens', API_TOKEN, { scopes: [] })).statusCode, 400);

    // Stored hashed: control.db does not hold the secrets.
    const db = readFileSync(join(m.config.dataDir, 'control.db')).toString('latin1') + readFileSync(join(m.config.dataDir, 'control.db-wal')).toString('latin1');
    assert.ok(!db.includes(reader.token) && !db.includes(sql.token));

    // The CLI works on the running Mosaic's data dir; the server honours its tokens at once.
    const created = await cli(m.config.dataDir, 'create', '--scopes', 'privacy', '--label', 'dpo', '--json');
    assert.equal(created.status, 0, created.stderr);
    const dpo = JSON.parse(created.stdout) as { id: string; token: string };
    assert.equal((await req('GET', '/v1/privacy/requests', dpo.token)).statusCode, 200);
    const list = await cli(m.config.dataDir, 'list');
    assert.match(list.stdout, new RegExp(`${dpo.id}\\s+dpo\\s+privacy`));
    assert.match(list.stdout, new RegExp(`${reader.id}.*REVOKED`));
    assert.equal((await cli(m.config.dataDir, 'revoke', dpo.id)).status, 0);
    assert.equal((await req('GET', '/v1/privacy/requests', dpo.token)).statusCode, 401);
    const bad = await cli(m.config.dataDir, 'create', '--scopes', 'profiles:read,everything');
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /Unknown scope "everything"/);
  } finally {
    await m.cleanup();
  }
});
