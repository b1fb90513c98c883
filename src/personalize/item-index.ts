import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { itemText } from '../core/items.js';
import type { Metrics } from '../observe/metrics.js';
import type { Embedder } from '../ports/embedder.js';
import type { ChangeCursor, ItemStore } from '../ports/item-store.js';
import type { VectorIndex } from '../ports/vector-index.js';

interface Meta {
  embedder: string;
  seq: number;
  label: number;
  labels: [string, number][];
}

/**
 * The catalog's items as vectors, for content similarity: follows the item store's changes
 * (incrementally, by sequence number) and keeps the index and its position in files beside each
 * other, so a restart continues where it stopped instead of embedding the catalog again.
 */
export class ItemIndex {
  private readonly labels = new Map<string, number>();
  private readonly ids = new Map<number, string>();
  private cursor: ChangeCursor = { seq: 0, label: 0 };
  private dirty = false;
  private lastSave = 0;
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly index: VectorIndex,
    private readonly embedder: Embedder,
    private readonly items: ItemStore,
    private readonly opts: { metaFile?: string; logger?: Logger; metrics?: Metrics; onChange?: (ids: string[]) => void },
  ) {}

  /** `metaFile`: where the position and labels are kept (beside the index's own file); absent: in memory. */
  /** `onChange`: told the ids of the items each sync saw change (a cache of catalog items forgets them). */
  static open(index: VectorIndex, embedder: Embedder, items: ItemStore, opts: { metaFile?: string; logger?: Logger; metrics?: Metrics; onChange?: (ids: string[]) => void } = {}): ItemIndex {
    const ix = new ItemIndex(index, embedder, items, opts);
    const meta = opts.metaFile && existsSync(opts.metaFile) ? (JSON.parse(readFileSync(opts.metaFile, 'utf8')) as Meta) : undefined;
    if (meta && meta.embedder === embedder.id && index.size > 0) {
      ix.cursor = { seq: meta.seq, label: meta.label };
      for (const [id, label] of meta.labels) {
        ix.labels.set(id, label);
        ix.ids.set(label, id);
      }
      for (const label of index.labels()) if (!ix.ids.has(label)) index.remove(label);
    } else {
      if (meta) opts.logger?.info({ was: meta.embedder, now: embedder.id }, 'item index: the embedder changed; embedding the catalog again');
      // Vectors of another embedder, or of an unknown position: start from an empty index.
      index.clear();
    }
    return ix;
  }

  get size(): number {
    return this.labels.size;
  }

  /** Applies the catalog's changes since the last call; resolves with how many it applied. */
  sync(batch = 500): Promise<number> {
    const run = this.syncing.then(async () => {
      let applied = 0;
      for (;;) {
        const changes = await this.items.changes(this.cursor, batch);
        if (!changes.length) break;
        const upserts = changes.filter((c) => c.item);
        const vectors = upserts.length ? await this.embedder.embed(upserts.map((c) => itemText(c.item!))) : [];
        let v = 0;
        for (const c of changes) {
          if (c.item) {
            this.index.upsert(c.label, vectors[v++]!);
            if (this.index.has(c.label)) {
              this.labels.set(c.id, c.label);
              this.ids.set(c.label, c.id);
              continue;
            }
          } else this.index.remove(c.label);
          this.labels.delete(c.id);
          this.ids.delete(c.label);
        }
        this.opts.onChange?.(changes.map((c) => c.id));
        const last = changes[changes.length - 1]!;
        this.cursor = { seq: last.seq, label: last.label };
        applied += changes.length;
        this.dirty = true;
        if (changes.length < batch) break;
      }
      this.opts.metrics?.itemIndexSize.set(this.labels.size);
      return applied;
    });
    this.syncing = run.catch(() => undefined);
    return run;
  }

  /** The item's vector, if it is indexed. */
  vectorOf(id: string): Float32Array | undefined {
    const label = this.labels.get(id);
    return label === undefined ? undefined : this.index.vector(label);
  }

  /** Items most similar to `vector`, most similar first, without those in `exclude`. */
  nearest(vector: Float32Array, k: number, exclude: ReadonlySet<string> = new Set()): { id: string; similarity: number }[] {
    // Asking for more and dropping the excluded ones costs less than a filter hnswlib calls back per node.
    const out: { id: string; similarity: number }[] = [];
    for (const r of this.index.search(vector, k + exclude.size)) {
      const id = this.ids.get(r.label);
      if (id === undefined || exclude.has(id)) continue;
      out.push({ id, similarity: r.similarity });
      if (out.length >= k) break;
    }
    return out;
  }

  async embed(text: string): Promise<Float32Array> {
    return (await this.embedder.embed([text]))[0]!;
  }

  async save(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    await this.index.save();
    if (this.opts.metaFile) {
      const meta: Meta = { embedder: this.embedder.id, seq: this.cursor.seq, label: this.cursor.label, labels: [...this.labels] };
      writeFileSync(`${this.opts.metaFile}.tmp`, JSON.stringify(meta));
      renameSync(`${this.opts.metaFile}.tmp`, this.opts.metaFile);
    }
    this.lastSave = Date.now();
  }

  /** Follows the catalog every `intervalMs`; saves at most every `saveEveryMs`. */
  start(intervalMs = 1000, saveEveryMs = 10_000): void {
    const tick = async () => {
      try {
        await this.sync();
        if (this.dirty && Date.now() - this.lastSave >= saveEveryMs) await this.save();
      } catch (err) {
        this.opts.logger?.warn({ err }, 'item index: could not follow the catalog; retrying');
      }
      if (this.timer) this.timer = setTimeout(() => void tick(), intervalMs).unref();
    };
    this.timer = setTimeout(() => void tick(), 0).unref();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.syncing;
    await this.save();
  }
}
