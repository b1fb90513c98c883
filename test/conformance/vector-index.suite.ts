import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { VectorIndex } from '../../src/ports/vector-index.js';

const v = (...xs: number[]) => Float32Array.from(xs);

/** What every VectorIndex adapter must do. `make(file)` opens the index kept in `file` (a fresh path: empty). */
export function vectorIndexConformance(name: string, make: (file: string) => Promise<VectorIndex>, freshFile: () => string) {
  test(`${name}: nearest by cosine, upserts replace, removals hide, filters apply, capacity grows, a saved index reopens`, async () => {
    const file = freshFile();
    const ix = await make(file);
    assert.equal(ix.dimensions, 3);
    assert.deepEqual(ix.search(v(1, 0, 0), 5), [], 'empty');
    ix.upsert(1, v(1, 0, 0));
    ix.upsert(2, v(0, 1, 0));
    ix.upsert(3, v(1, 1, 0));
    ix.upsert(4, v(0, 0, 0)); // no direction: left out
    assert.equal(ix.size, 3);
    assert.equal(ix.has(4), false);
    const near = ix.search(v(1, 0.1, 0), 2);
    assert.deepEqual(near.map((r) => r.label), [1, 3]);
    assert.ok(near[0]!.similarity > 0.99 && near[0]!.similarity <= 1.0001);
    assert.deepEqual(ix.search(v(1, 0.1, 0), 10, (l) => l !== 1).map((r) => r.label), [3, 2]);
    ix.upsert(1, v(0, 0, 1)); // replaced
    assert.equal(ix.search(v(0, 0, 1), 1)[0]!.label, 1);
    ix.remove(2);
    assert.equal(ix.has(2), false);
    assert.deepEqual(ix.search(v(0, 1, 0), 10).map((r) => r.label).includes(2), false);
    ix.upsert(2, v(0, 1, 0)); // back
    assert.equal(ix.search(v(0, 1, 0), 1)[0]!.label, 2);
    for (let i = 10; i < 3000; i++) ix.upsert(i, v(Math.cos(i), Math.sin(i), 0.5));
    assert.equal(ix.size, 3 + 2990);
    const vec = ix.vector(3)!;
    assert.ok(Math.abs(vec[0]! - vec[1]!) < 1e-6, 'the stored vector keeps its direction');
    // A removed label's slot is not given to a new label: the removed one can still come back.
    ix.remove(20);
    ix.upsert(5000, v(0.2, 0.3, 0.9));
    ix.upsert(20, v(0.3, 0.2, 0.9));
    assert.ok(ix.has(20) && ix.has(5000));
    assert.equal(ix.search(v(0.3, 0.2, 0.9), 1)[0]!.label, 20);
    ix.remove(11);
    await ix.save();
    const again = await make(file);
    assert.equal(again.search(v(0, 1, 0), 1)[0]!.label, 2);
    assert.ok(again.labels().includes(2));
    again.clear();
    assert.equal(again.size, 0);
    assert.deepEqual(again.search(v(0, 1, 0), 3), []);
    again.upsert(7, v(0, 1, 0));
    assert.equal(again.search(v(0, 1, 0), 3)[0]!.label, 7);
  });
}
