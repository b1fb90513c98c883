import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HashingEmbedder } from '../../src/adapters/hashing/embedder.js';
import { HttpEmbedder } from '../../src/adapters/http/embedder.js';
import { hashingVector } from '../../src/core/hashing-vectorizer.js';
import type { MosaicError } from '../../src/errors.js';
import { embedderConformance } from '../conformance/embedder.suite.js';

embedderConformance('hashing embedder', async () => new HashingEmbedder(128));

// A stand-in embedding server speaking the OpenAI embeddings shape, answering in reverse order
// with indexes (as servers may), and counting requests.
const requests: { input: string[]; auth: string | undefined }[] = [];
let mode: 'ok' | 'short' | 'fail' = 'ok';
const body = (req: IncomingMessage) => new Promise<string>((resolve) => {
  let s = '';
  req.on('data', (c: Buffer) => (s += c.toString()));
  req.on('end', () => resolve(s));
});
const server = createServer(async (req, res) => {
  const { input } = JSON.parse(await body(req)) as { input: string[] };
  requests.push({ input, auth: req.headers.authorization });
  if (mode === 'fail') {
    res.writeHead(503).end('overloaded');
    return;
  }
  const data = input.map((t, index) => ({ index, embedding: [...hashingVector(t, mode === 'short' ? 8 : 64)] })).reverse();
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data }));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
after(() => server.close());
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/embeddings`;

embedderConformance('http embedder', async () => new HttpEmbedder({ url, dimensions: 64, batchSize: 2, headers: { authorization: 'Bearer k' } }));

test('http embedder: batches requests, sends the headers, names the endpoint in its errors', async () => {
  requests.length = 0;
  mode = 'ok';
  const e = new HttpEmbedder({ url, dimensions: 64, batchSize: 2, headers: { authorization: 'Bearer k' } });
  const vs = await e.embed(['a b', 'c d', 'e f']);
  assert.deepEqual(requests.map((r) => r.input), [['a b', 'c d'], ['e f']]);
  assert.equal(requests[0]!.auth, 'Bearer k');
  assert.deepEqual([...vs[0]!], [...hashingVector('a b', 64)], 'placed by index');
  mode = 'short';
  await assert.rejects(e.embed(['x']), (err: MosaicError) => err.code === 'MOSAIC_EMBEDDER_FAILED' && /8 numbers; personalization.embedder.dimensions says 64/.test(err.message));
  mode = 'fail';
  await assert.rejects(e.embed(['x']), (err: MosaicError) => err.code === 'MOSAIC_EMBEDDER_FAILED' && /answered 503: overloaded/.test(err.message));
  const nowhere = new HttpEmbedder({ url: 'http://127.0.0.1:1/embed', dimensions: 4, timeoutMs: 500 });
  await assert.rejects(nowhere.embed(['x']), (err: MosaicError) => err.code === 'MOSAIC_EMBEDDER_FAILED' && /could not be reached/.test(err.message));
  mode = 'ok';
});
