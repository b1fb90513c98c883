import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cosine } from '../../src/core/hashing-vectorizer.js';
import type { Embedder } from '../../src/ports/embedder.js';

/** What every Embedder adapter must do. */
export function embedderConformance(name: string, make: () => Promise<Embedder>) {
  test(`${name}: one vector per text, in order, of the declared size; the same text, the same vector; related texts closer`, async () => {
    const e = await make();
    const texts = ['red running shoe for the road', 'red trail running shoe', 'warm wool winter hat'];
    const vs = await e.embed(texts);
    assert.equal(vs.length, 3);
    for (const v of vs) assert.equal(v.length, e.dimensions);
    assert.deepEqual((await e.embed([texts[2]!, texts[0]!])).map((v) => [...v]), [[...vs[2]!], [...vs[0]!]], 'order kept, deterministic');
    assert.ok(cosine(vs[0]!, vs[1]!) > cosine(vs[0]!, vs[2]!));
    assert.deepEqual(await e.embed([]), []);
    assert.ok(e.id.length > 0);
  });
}
