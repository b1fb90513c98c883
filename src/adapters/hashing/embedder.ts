import { hashingVector } from '../../core/hashing-vectorizer.js';
import type { Embedder } from '../../ports/embedder.js';

/** The built-in embedder: feature hashing, in-process, nothing downloaded. */
export class HashingEmbedder implements Embedder {
  readonly id: string;

  constructor(readonly dimensions: number) {
    this.id = `hashing:${dimensions}`;
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    return texts.map((t) => hashingVector(t, this.dimensions));
  }
}
