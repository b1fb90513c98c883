import { priceBand, type Item } from './items.js';
import { fnv1a } from './minhash.js';

/** Where a candidate comes from. */
export const SOURCES = ['cooccurrence', 'content', 'affinity', 'popular', 'trending'] as const;
export type Source = (typeof SOURCES)[number];

/** A placement's blend: each source's weight (absent or 0: not used). */
export type Strategy = Partial<Record<Source, number>>;

export interface Candidate {
  item: string;
  score: number;
  /** What it relates to: the recent item it goes with, or the category it matches. */
  because?: string;
}

/**
 * Every candidate and ranked item is made with all its fields in one order (`because` undefined
 * when there is none): a decision reads hundreds of them in the same few functions, and objects
 * of four or five shapes there made V8 fall back to its slow generic property lookups in some
 * runs (half the decision rate, depending on what it happened to see first).
 */
export function candidate(item: string, score: number, because?: string): Candidate {
  return { item, score, because };
}

export interface Ranked {
  item: string;
  score: number;
  /** The source that contributed most, and what it relates to. */
  source: Source;
  because?: string;
}

/** A ranked item, in the one shape (see candidate). */
export function ranked(item: string, score: number, source: Source, because?: string): Ranked {
  return { item, score, source, because };
}

/**
 * Blends the sources: each source's scores are divided by its best one (so each is in 0..1 and
 * the weights alone say how much a source counts), then summed by weight. Ties go by item id,
 * so the same inputs always give the same order.
 */
export function blend(sources: Partial<Record<Source, readonly Candidate[]>>, strategy: Strategy): Ranked[] {
  return shared.blend(sources, strategy);
}

/**
 * Where blends add up their parts, kept between calls. A decision blends a hundred or more
 * candidates; the Map of per-item records built for each one was the largest allocation site a
 * sampling heap profile of the decision API found (it allocated 244 MB/s at 1,000 decisions/s,
 * 221 MB/s without the Map), and the collections that follow allocation take the server's CPU
 * from the requests. Items keep a slot for as long as the blender lives (the catalog's size); a
 * slot is fresh in a blend when its stamp is that blend's.
 */
export class Blender {
  private slots = new Map<string, number>();
  private ids: string[] = [];
  private because: (string | undefined)[] = [];
  private score = new Float64Array(1024);
  private best = new Float64Array(1024);
  private source = new Uint8Array(1024);
  private stamp = new Uint32Array(1024);
  private touched = new Int32Array(1024);
  private generation = 0;

  blend(sources: Partial<Record<Source, readonly Candidate[]>>, strategy: Strategy): Ranked[] {
    const g = this.nextGeneration();
    let n = 0;
    for (let s = 0; s < SOURCES.length; s++) {
      const w = strategy[SOURCES[s]!] ?? 0;
      const list = sources[SOURCES[s]!];
      if (!w || !list?.length) continue;
      let top = 0;
      for (const c of list) if (c.score > top) top = c.score;
      if (!(top > 0)) continue;
      const k = w / top;
      for (const c of list) {
        if (!(c.score > 0)) continue;
        const part = k * c.score;
        const i = this.slotOf(c.item);
        if (this.stamp[i] !== g) {
          this.stamp[i] = g;
          this.score[i] = part;
          this.best[i] = part;
          this.source[i] = s;
          this.because[i] = c.because;
          if (n === this.touched.length) this.touched = grown(this.touched, n * 2);
          this.touched[n++] = i;
        } else {
          this.score[i] = this.score[i]! + part;
          if (part > this.best[i]!) {
            this.best[i] = part;
            this.source[i] = s;
            this.because[i] = c.because;
          }
        }
      }
    }
    const { score, ids } = this;
    const order = this.touched.subarray(0, n).sort((a, b) => score[b]! - score[a]! || (ids[a]! < ids[b]! ? -1 : 1));
    const out: Ranked[] = new Array(n);
    for (let j = 0; j < n; j++) {
      const i = order[j]!;
      out[j] = ranked(ids[i]!, score[i]!, SOURCES[this.source[i]!]!, this.because[i]);
    }
    // Reasons are strings the candidates share; dropping them lets a blend's candidates go.
    for (let j = 0; j < n; j++) this.because[order[j]!] = undefined;
    return out;
  }

  private slotOf(item: string): number {
    let i = this.slots.get(item);
    if (i === undefined) {
      i = this.ids.length;
      if (i === this.score.length) {
        const size = i * 2;
        this.score = grown(this.score, size);
        this.best = grown(this.best, size);
        this.source = grown(this.source, size);
        this.stamp = grown(this.stamp, size);
      }
      this.slots.set(item, i);
      this.ids.push(item);
      this.because.push(undefined);
    }
    return i;
  }

  private nextGeneration(): number {
    // Items no catalog holds any more keep their slots: start over past a million, and when the stamps wrap.
    if (this.ids.length > 1_000_000 || this.generation === 0xffffffff) {
      this.slots = new Map();
      this.ids = [];
      this.because = [];
      this.stamp.fill(0);
      this.generation = 0;
    }
    return ++this.generation;
  }
}

function grown<T extends Float64Array | Uint8Array | Uint32Array | Int32Array>(a: T, size: number): T {
  const b = new (a.constructor as new (n: number) => T)(size);
  b.set(a);
  return b;
}

/** Blends run to completion without awaiting, so one blender serves every caller of a thread. */
const shared = new Blender();

export interface Rules {
  /** Items never shown (purchased, already viewed, the request's own exclusions). */
  exclude: ReadonlySet<string>;
  availableOnly: boolean;
  /** At most this many per first category; 0: no limit. */
  maxPerCategory: number;
  /** The request's filters. */
  categories?: readonly string[];
  minPrice?: number;
  maxPrice?: number;
}

/** Keeps the first `limit` ranked items the rules allow; items missing from the catalog are never shown. */
export function applyRules(ranked: readonly Ranked[], catalog: ReadonlyMap<string, Item>, rules: Rules, limit: number): Ranked[] {
  const out: Ranked[] = [];
  const perCategory = new Map<string, number>();
  const wanted = rules.categories?.length ? new Set(rules.categories) : undefined;
  const seen = new Set<string>();
  for (const r of ranked) {
    if (out.length >= limit) break;
    const item = catalog.get(r.item);
    if (!item || rules.exclude.has(r.item) || seen.has(r.item)) continue;
    if (rules.availableOnly && !item.available) continue;
    if (wanted && !item.categories.some((c) => wanted.has(c))) continue;
    if (rules.minPrice !== undefined && !(item.price !== undefined && item.price >= rules.minPrice)) continue;
    if (rules.maxPrice !== undefined && !(item.price !== undefined && item.price <= rules.maxPrice)) continue;
    if (rules.maxPerCategory > 0) {
      const c = item.categories[0] ?? '';
      const n = perCategory.get(c) ?? 0;
      if (n >= rules.maxPerCategory) continue;
      perCategory.set(c, n + 1);
    }
    seen.add(r.item);
    out.push(r);
  }
  return out;
}

/** A person's tastes, each a share (summing to 1) by category, brand and price band. */
export interface Affinity {
  categories: Map<string, number>;
  brands: Map<string, number>;
  bands: Map<string, number>;
}

/**
 * Tastes from the person's recent items: each item counts by how recent it is (0.9 per place
 * back in the list) and by what was done with it (purchase 3, view 1).
 */
export function affinityOf(recent: readonly { item: Item; purchased: boolean; rank: number }[]): Affinity {
  const a: Affinity = { categories: new Map(), brands: new Map(), bands: new Map() };
  const add = (m: Map<string, number>, k: string | undefined, w: number) => {
    if (k !== undefined) m.set(k, (m.get(k) ?? 0) + w);
  };
  for (const r of recent) {
    const w = (r.purchased ? 3 : 1) * 0.9 ** r.rank;
    for (const c of r.item.categories) add(a.categories, c, w / r.item.categories.length);
    add(a.brands, r.item.brand, w);
    add(a.bands, priceBand(r.item.price), w);
  }
  for (const m of [a.categories, a.brands, a.bands]) {
    const sum = [...m.values()].reduce((x, y) => x + y, 0);
    for (const [k, v] of m) m.set(k, v / sum);
  }
  return a;
}

export function hasAffinity(a: Affinity): boolean {
  return a.categories.size + a.brands.size + a.bands.size > 0;
}

const bands = new WeakMap<Item, string | undefined>();

/** How well an item matches a person's tastes (0..1), and the category (or brand) behind it. */
export function affinityScore(item: Item, a: Affinity): Candidate {
  let best = 0;
  let because: string | undefined;
  for (const c of item.categories) {
    const share = a.categories.get(c) ?? 0;
    if (share > best) [best, because] = [share, c];
  }
  const brand = item.brand ? (a.brands.get(item.brand) ?? 0) : 0;
  let band = 0;
  if (a.bands.size && item.price !== undefined) {
    // Catalog items are cached objects: their band is worked out once.
    let b = bands.get(item);
    if (b === undefined && !bands.has(item)) bands.set(item, (b = priceBand(item.price)));
    band = b === undefined ? 0 : (a.bands.get(b) ?? 0);
  }
  if (brand > best && item.brand) because = item.brand;
  return candidate(item.id, 0.6 * best + 0.25 * brand + 0.15 * band, because);
}

/**
 * Bucketing: a profile's place in [0, 1) for an experiment, from a hash of both. The same profile
 * lands in the same bucket every time, and different experiments bucket independently.
 */
export function bucketOf(experiment: string, profileId: string): number {
  // FNV-1a over "experiment/profile", then a 32-bit avalanche (murmur3's finalizer): even spread.
  let h = fnv1a(`${experiment}/${profileId}`);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 2 ** 32;
}

/** The variant whose share of [0, 1) holds the bucket; shares are the weights over their sum. */
export function variantOf<V extends { weight: number }>(variants: readonly V[], bucket: number): V {
  const total = variants.reduce((a, v) => a + v.weight, 0);
  let edge = 0;
  for (const v of variants) {
    edge += v.weight / total;
    if (bucket < edge) return v;
  }
  return variants[variants.length - 1]!;
}
