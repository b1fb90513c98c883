import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Envelope } from '../core/envelope.js';
import type { IdentityKey, IdentityRules } from '../core/identity.js';
import type { ProfileModel } from '../core/profile.js';
import { readAssembled } from './read-profile.js';
import { textEmbedding, textSignalsOf } from '../core/text-state.js';
import type { EventLog } from '../ports/event-log.js';
import { MosaicError } from '../errors.js';
import type { ProfileStore } from '../ports/profile-store.js';
import type { VectorIndex } from '../ports/vector-index.js';
import { kmeans } from 'ml-kmeans';

const TOPICS_KEY = 'text.topics';

interface Meta {
  positions: number[];
  labels: [IdentityKey, number][];
}

export interface SimilarProfile {
  profileId: string;
  similarity: number;
}

/**
 * People by what they wrote: each profile's text embedding in an ANN index, for
 * GET /v1/profiles/{ref}/similar. Follows the log's text events up to what the processor has
 * applied, and after each reads the person's profile (so the vector is the whole profile's,
 * merges included); entries are keyed by the event's anchor identity, and resolved to current
 * profiles when asked (merged people are one answer; erased ones are dropped and forgotten).
 */
export class ProfileIndex {
  private positions: number[] = [];
  private readonly labels = new Map<IdentityKey, number>();
  private readonly keys = new Map<number, IdentityKey>();
  private nextLabel = 1;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private dirty = false;

  constructor(
    private readonly log: EventLog,
    private readonly store: ProfileStore,
    private readonly rules: IdentityRules,
    private readonly model: ProfileModel,
    private readonly index: VectorIndex,
    private readonly opts: { metaFile?: string; logger?: Logger } = {},
  ) {
    const meta = opts.metaFile && existsSync(opts.metaFile) ? (JSON.parse(readFileSync(opts.metaFile, 'utf8')) as Meta) : undefined;
    if (meta && index.size > 0) {
      this.positions = meta.positions;
      for (const [key, label] of meta.labels) this.remember(key, label);
      for (const label of index.labels()) if (!this.keys.has(label)) index.remove(label);
    } else index.clear();
  }

  private remember(key: IdentityKey, label: number): void {
    this.labels.set(key, label);
    this.keys.set(label, key);
    this.nextLabel = Math.max(this.nextLabel, label + 1);
  }

  get size(): number {
    return this.labels.size;
  }

  /** Reads text events the processor has applied; resolves with how many log entries it read. */
  sync(max = 5000): Promise<number> {
    const run = this.running.then(async () => {
      const applied = await this.store.readOffsets();
      const ends = (await this.log.endOffsets()).map((end, p) => Math.min(end, applied.get(p) ?? 1));
      const anchors = new Set<IdentityKey>();
      let read = 0;
      for (let p = 0; p < ends.length; p++) {
        let from = this.positions[p] ?? 1;
        let done = false;
        while (!done && from < ends[p]! && read < max) {
          const entries = await this.log.read(p, from, Math.min(1000, max - read));
          if (!entries.length) break;
          for (const entry of entries) {
            if (entry.offset >= ends[p]!) {
              done = true; // past what the processor has applied: read again next time
              break;
            }
            read++;
            from = entry.offset + 1;
            // Only events that carry text signals change an embedding; most are skipped unparsed.
            if (!entry.payload.includes('"textSignals"')) continue;
            const e = JSON.parse(entry.payload) as Envelope;
            const anchor = textSignalsOf(e) ? this.rules.identifiersOf(e)[0] : undefined;
            if (anchor) anchors.add(anchor);
          }
        }
        this.positions[p] = from;
      }
      for (const anchor of anchors) await this.refresh(anchor);
      if (read) this.dirty = true;
      return read;
    });
    this.running = run.catch(() => undefined);
    return run;
  }

  private async refresh(anchor: IdentityKey): Promise<void> {
    const vector = await this.embeddingOf(anchor);
    let label = this.labels.get(anchor);
    if (!vector) {
      if (label !== undefined) this.forgetKey(anchor);
      return;
    }
    if (label === undefined) this.remember(anchor, (label = this.nextLabel++));
    this.index.upsert(label, vector);
  }

  private async embeddingOf(key: IdentityKey): Promise<Float32Array | undefined> {
    return textEmbedding((await readAssembled(this.store, key, this.model))?.doc.text);
  }

  private forgetKey(key: IdentityKey): void {
    const label = this.labels.get(key);
    if (label === undefined) return;
    this.index.remove(label);
    this.labels.delete(key);
    this.keys.delete(label);
    this.dirty = true;
  }

  /** An erasure: these identities' entries go, from memory and (at once) from the index's file. */
  forget(keys: readonly IdentityKey[]): void {
    const before = this.labels.size;
    for (const k of keys) this.forgetKey(k);
    if (this.labels.size < before) void this.save().catch((err: unknown) => this.opts.logger?.error({ err }, 'profile index: could not save after an erasure'));
  }

  /** The profiles whose text is most like this profile's, most similar first (not the profile itself). */
  async similar(profileId: string, vector: Float32Array, limit: number): Promise<SimilarProfile[]> {
    const found = this.index.search(vector, limit * 3 + 5);
    const keys = found.map((f) => this.keys.get(f.label)).filter((k): k is IdentityKey => k !== undefined);
    const current = await this.store.nodeClusters(keys);
    const out: SimilarProfile[] = [];
    const seen = new Set<string>([profileId]);
    for (const f of found) {
      const key = this.keys.get(f.label);
      if (key === undefined) continue;
      const id = current.get(key);
      if (id === undefined) {
        this.forgetKey(key); // erased, or gone in a reset
        continue;
      }
      if (seen.has(id)) continue;
      seen.add(id);
      out.push({ profileId: id, similarity: Math.round(f.similarity * 1e4) / 1e4 });
      if (out.length >= limit) break;
    }
    return out;
  }

  /**
   * Topics: k-means (ml-kmeans, k-means++ seeded) over the indexed profile embeddings, kept in the
   * store's meta (so every process assigns the same ones). A profile's topic is its embedding's
   * nearest centroid (topicOf). Resolves with each topic's size.
   */
  async fitTopics(k: number): Promise<{ topics: { id: string; profiles: number }[]; profiles: number }> {
    const labels = [...this.keys.keys()];
    const points = labels.map((l) => this.index.vector(l)).filter((v): v is Float32Array => v !== undefined).map((v) => Array.from(v));
    if (points.length < k) throw new MosaicError('MOSAIC_BAD_REQUEST', { message: `${points.length} profiles have written text; ${k} topics need at least ${k}.` });
    const r = kmeans(points, k, { seed: 42, initialization: 'kmeans++' });
    const sizes = new Array<number>(k).fill(0);
    for (const c of r.clusters) sizes[c]!++;
    await this.store.setMeta(TOPICS_KEY, JSON.stringify(r.centroids));
    this.topics = { at: Date.now(), centroids: r.centroids };
    return { topics: sizes.map((n, i) => ({ id: `t${i}`, profiles: n })), profiles: points.length };
  }

  private topics: { at: number; centroids: number[][] } | undefined;

  /** The nearest topic to an embedding (undefined before topics are fitted); centroids are re-read every minute. */
  async topicOf(vector: Float32Array): Promise<string | undefined> {
    if (!this.topics || Date.now() - this.topics.at > 60_000) {
      const raw = await this.store.getMeta(TOPICS_KEY);
      this.topics = { at: Date.now(), centroids: raw ? (JSON.parse(raw) as number[][]) : [] };
    }
    let best: number | undefined;
    let bestSim = -Infinity;
    this.topics.centroids.forEach((c, i) => {
      if (c.length !== vector.length) return;
      let dot = 0;
      let norm = 0;
      for (let d = 0; d < c.length; d++) {
        dot += c[d]! * vector[d]!;
        norm += c[d]! * c[d]!;
      }
      const sim = norm ? dot / Math.sqrt(norm) : 0;
      if (sim > bestSim) [best, bestSim] = [i, sim];
    });
    return best === undefined ? undefined : `t${best}`;
  }

  async save(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    await this.index.save();
    if (this.opts.metaFile) {
      writeFileSync(`${this.opts.metaFile}.tmp`, JSON.stringify({ positions: this.positions, labels: [...this.labels] } satisfies Meta));
      renameSync(`${this.opts.metaFile}.tmp`, this.opts.metaFile);
    }
  }

  start(intervalMs = 1000, saveEveryMs = 10_000): void {
    let lastSave = Date.now();
    const tick = async () => {
      try {
        await this.sync();
        if (Date.now() - lastSave >= saveEveryMs) {
          lastSave = Date.now();
          await this.save();
        }
      } catch (err) {
        this.opts.logger?.warn({ err }, 'profile index: could not follow the log; retrying');
      }
      if (this.timer) this.timer = setTimeout(() => void tick(), intervalMs).unref();
    };
    this.timer = setTimeout(() => void tick(), 0).unref();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    await this.save();
  }
}
