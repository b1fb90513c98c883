import { existsSync, renameSync, rmSync } from 'node:fs';
import hnswlib from 'hnswlib-node';
import { LRUCache } from 'lru-cache';
import type { VectorIndex } from '../../ports/vector-index.js';

const INITIAL_CAPACITY = 1024;
/**
 * Vectors kept in JavaScript as well: reading one back from hnswlib (getPoint) costs ~30 µs, a
 * decision reads dozens. Bounded: 50,000 vectors of 256 dimensions are 51 MB.
 */
const CACHED_VECTORS = 50_000;

/**
 * HNSW (hnswlib-node) in cosine space, kept in one file. Removed labels are marked deleted and
 * come back if upserted again; their slots are not given to other labels (hnswlib would then
 * forget the old label, which may come back). Capacity doubles as the index fills.
 */
export class HnswVectorIndex implements VectorIndex {
  private readonly index: hnswlib.HierarchicalNSW;
  private readonly present = new Set<number>();
  private readonly deleted = new Set<number>();
  private readonly vectors = new LRUCache<number, Float32Array>({ max: CACHED_VECTORS });

  private constructor(
    readonly dimensions: number,
    private readonly file: string | undefined,
  ) {
    this.index = new hnswlib.HierarchicalNSW('cosine', dimensions);
  }

  /** Opens the index in `file` (or a new, empty one; `undefined`: in memory only). A file that cannot be read is started afresh. */
  static async open(dimensions: number, file?: string): Promise<HnswVectorIndex> {
    const ix = new HnswVectorIndex(dimensions, file);
    let loaded = false;
    if (file && existsSync(file)) {
      try {
        loaded = await ix.index.readIndex(file);
      } catch {
        loaded = false;
      }
      if (loaded && ix.index.getNumDimensions() !== dimensions) loaded = false;
    }
    if (loaded) {
      // Deleted labels are listed too: the owner removes those it does not know (ItemIndex does).
      for (const label of ix.index.getIdsList()) ix.present.add(label);
      ix.index.setEf(64);
    } else {
      ix.init();
    }
    return ix;
  }

  private init(): void {
    this.index.initIndex({ maxElements: INITIAL_CAPACITY, m: 16, efConstruction: 200, randomSeed: 100 });
    this.index.setEf(64);
  }

  clear(): void {
    this.init();
    this.present.clear();
    this.deleted.clear();
    this.vectors.clear();
  }

  get size(): number {
    return this.present.size;
  }

  has(label: number): boolean {
    return this.present.has(label);
  }

  upsert(label: number, vector: Float32Array): void {
    if (vector.length !== this.dimensions) throw new Error(`vector of ${vector.length} dimensions in an index of ${this.dimensions}`);
    if (this.deleted.has(label)) {
      this.index.unmarkDelete(label);
      this.deleted.delete(label);
    } else if (!this.present.has(label) && this.index.getCurrentCount() >= this.index.getMaxElements()) {
      this.index.resizeIndex(this.index.getMaxElements() * 2);
    }
    // A vector of zeros has no direction (an item without text): it is left out of the index.
    if (!vector.some((x) => x !== 0)) {
      if (this.present.has(label)) this.remove(label);
      return;
    }
    this.index.addPoint(Array.from(vector), label);
    this.present.add(label);
    this.vectors.delete(label); // read back as stored (normalized) when next asked
  }

  labels(): number[] {
    return [...this.present];
  }

  remove(label: number): void {
    if (!this.present.has(label)) return;
    try {
      this.index.markDelete(label);
    } catch {
      // Deleted before the file was written: the file keeps deleted labels, not which they are.
    }
    this.present.delete(label);
    this.deleted.add(label);
    this.vectors.delete(label);
  }

  vector(label: number): Float32Array | undefined {
    if (!this.present.has(label)) return undefined;
    let v = this.vectors.get(label);
    if (!v) {
      v = Float32Array.from(this.index.getPoint(label));
      this.vectors.set(label, v);
    }
    return v;
  }

  search(vector: Float32Array, k: number, accept?: (label: number) => boolean): { label: number; similarity: number }[] {
    const n = Math.min(k, this.present.size);
    if (n === 0) return [];
    const { neighbors, distances } = this.index.searchKnn(Array.from(vector), n, accept);
    return neighbors.map((label, i) => ({ label, similarity: 1 - distances[i]! }));
  }

  async save(): Promise<void> {
    if (!this.file) return;
    const tmp = `${this.file}.tmp`;
    rmSync(tmp, { force: true });
    await this.index.writeIndex(tmp);
    renameSync(tmp, this.file);
  }
}
