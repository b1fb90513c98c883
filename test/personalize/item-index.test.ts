import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { HashingEmbedder } from '../../src/adapters/hashing/embedder.js';
import { HnswVectorIndex } from '../../src/adapters/hnswlib/vector-index.js';
import { SqliteItemStore } from '../../src/adapters/sqlite/item-store.js';
import type { Item } from '../../src/core/items.js';
import { ItemIndex } from '../../src/personalize/item-index.js';
import type { Embedder } from '../../src/ports/embedder.js';
import { tempDir } from '../helpers.js';

const { dir, cleanup } = tempDir();
after(cleanup);
const item = (id: string, text: string): Item => ({ id, title: text, categories: [], tags: [], available: true, attributes: {} });

/** Counts what it embeds: a restart must not embed the catalog again. */
class Counting implements Embedder {
  embedded = 0;
  private readonly inner = new HashingEmbedder(64);
  readonly dimensions = 64;
  constructor(readonly id = 'hashing:64') {}
  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    this.embedded += texts.length;
    return this.inner.embed(texts);
  }
}

test('the item index follows the catalog incrementally, resumes after a restart, and starts over for another embedder', async () => {
  const items = new SqliteItemStore({ dir });
  const file = join(dir, 'items.hnsw');
  const open = async (embedder: Embedder) => ItemIndex.open(await HnswVectorIndex.open(64, file), embedder, items, { metaFile: `${file}.json` });
  try {
    await items.upsertItems(Array.from({ length: 1200 }, (_, i) => item(`i${i}`, `thing number ${i} ${i % 2 ? 'red wool hat' : 'blue running shoe'}`)));
    const e1 = new Counting();
    const ix = await open(e1);
    assert.equal(await ix.sync(500), 1200, 'one call of 1,200 items, read 500 at a time, all of it');
    assert.equal(ix.size, 1200);
    const near = ix.nearest(ix.vectorOf('i1')!, 5, new Set(['i1']));
    assert.equal(near.length, 5);
    assert.ok(!near.some((n) => n.id === 'i1'), 'excluded');
    assert.ok(near.every((n) => Number(n.id.slice(1)) % 2 === 1), `hats near a hat: ${near.map((n) => n.id)}`);

    await items.upsertItems([item('i0', 'red wool hat now'), item('new', 'blue running shoe')]);
    await items.deleteItems(['i3']);
    assert.equal(await ix.sync(), 3);
    assert.equal(ix.size, 1200);
    assert.equal(ix.vectorOf('i3'), undefined);
    await ix.stop();
    assert.equal(e1.embedded, 1202);

    // A restart reads the saved index and position: only what changed since is embedded.
    const e2 = new Counting();
    const again = await open(e2);
    assert.equal(again.size, 1200);
    await items.upsertItems([item('later', 'green tent')]);
    assert.equal(await again.sync(), 1);
    assert.equal(e2.embedded, 1);
    assert.equal(again.nearest(again.vectorOf('i3') ?? (await again.embed('red wool hat')), 1200).some((n) => n.id === 'i3'), false, 'a deleted item stays deleted after a restart');
    await again.stop();

    // Another embedder: its vectors are not comparable, so the whole catalog is embedded again.
    const e3 = new Counting('other:64');
    const other = await open(e3);
    assert.equal(other.size, 0);
    await other.sync();
    assert.equal(e3.embedded, 1201);
    await other.stop();
  } finally {
    await items.close();
  }
});
