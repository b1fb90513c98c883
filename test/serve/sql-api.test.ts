import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Offloader } from '../../src/lake/offload.js';
import { API_TOKEN, WRITE_KEY, basic, startMosaic } from '../helpers.js';

test('POST /v1/sql: read-only SQL over the lake, behind the admin token, audited', async () => {
  const m = await startMosaic();
  try {
    const batch = Array.from({ length: 30 }, (_, i) => ({ type: i % 3 ? 'track' : 'identify', userId: `u${i % 4}`, event: 'Viewed', properties: { price: i }, messageId: `sql-${i}` }));
    assert.equal((await m.app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: basic(WRITE_KEY) }, payload: { batch } })).statusCode, 200);
    assert.equal(await new Offloader(m.log, { lakeDir: m.config.lake.dir!, chunkEvents: 1000 }).run(), 30);
    const sql = (query: string, headers: Record<string, string> = { authorization: `Bearer ${API_TOKEN}` }, limit?: number) =>
      m.app.inject({ method: 'POST', url: '/v1/sql', headers, payload: { query, ...(limit ? { limit } : {}) } });

    const ok = await sql("SELECT type, count(*)::INTEGER AS n, sum((properties->>'price')::INTEGER)::INTEGER AS total FROM events GROUP BY type ORDER BY type");
    assert.equal(ok.statusCode, 200, ok.body);
    assert.deepEqual(ok.json(), { columns: ['type', 'n', 'total'], rows: [['identify', 10, 135], ['track', 20, 300]], truncated: false });
    const page = (await sql('SELECT message_id FROM events ORDER BY log_partition, log_offset', undefined, 7)).json();
    assert.equal(page.rows.length, 7);
    assert.equal(page.truncated, true);

    assert.equal((await sql('SELECT 1', {})).statusCode, 401);
    assert.equal((await sql('SELECT 1', { authorization: basic(WRITE_KEY) })).statusCode, 401, 'a write key cannot read the lake');
    const write = await sql("DELETE FROM events WHERE type = 'track'");
    assert.equal(write.statusCode, 400);
    assert.equal(write.json().error.code, 'MOSAIC_SQL_READ_ONLY');
    assert.equal((await sql("SELECT * FROM read_csv('/etc/passwd')")).json().error.code, 'MOSAIC_SQL_INVALID');
    assert.equal((await sql('SELECT nope FROM events')).json().error.code, 'MOSAIC_SQL_INVALID');
    assert.equal((await sql("SELECT 'x'::INTEGER")).json().error.code, 'MOSAIC_SQL_FAILED');
    assert.equal((await sql('')).statusCode, 400);

    const audit = m.control.auditFor("SELECT type, count(*)::INTEGER AS n, sum((properties->>'price')::INTEGER)::INTEGER AS total FROM events GROUP BY type ORDER BY type");
    assert.equal(audit.length, 1);
    assert.equal(audit[0]!.action, 'sql.query');
  } finally {
    await m.cleanup();
  }
});
