import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CATALOGUE, MosaicError } from '../src/errors.js';

test('docs/errors.md lists exactly the catalogue, with the same statuses', () => {
  const doc = readFileSync(join(import.meta.dirname, '../../docs/errors.md'), 'utf8');
  const rows = new Map([...doc.matchAll(/^\| `(MOSAIC_[A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1]!, Number(m[2])]));
  assert.deepEqual([...rows.keys()].sort(), Object.keys(ERROR_CATALOGUE).sort());
  for (const [code, { status }] of Object.entries(ERROR_CATALOGUE)) assert.equal(rows.get(code), status, code);
});

test('MosaicError serialises to the documented shape', () => {
  const e = new MosaicError('MOSAIC_MESSAGE_INVALID', { details: [{ path: '/event', rule: 'required', message: '"event" is required' }] });
  assert.equal(e.status, 400);
  assert.deepEqual(e.toJSON(), { error: { code: 'MOSAIC_MESSAGE_INVALID', message: ERROR_CATALOGUE.MOSAIC_MESSAGE_INVALID.message, details: [{ path: '/event', rule: 'required', message: '"event" is required' }] } });
});
