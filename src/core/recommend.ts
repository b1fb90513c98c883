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
  // One mutable record per item: a decision blends hundreds of candidates, so no copies per part.
  const total = new Map<string, { item: string; score: number; best: number; source: Source; because: string | undefined }>();
  for (const source of SOURCES) {
    const w = strategy[source] ?? 0;
    const list = sources[source];
    if (!w || !list?.length) continue;
    let top = 0;
    for (const c of list) if (c.score > top) top = c.score;
    if (!(top > 0)) continue;
    const k = w / top;
    for (const c of list) {
      if (!(c.score > 0)) continue;
      const part = k * c.score;
      const t = total.get(c.item);
      if (!t) total.set(c.item, { item: c.item, score: part, best: part, source, because: c.because });
      else {
        t.score += part;
        if (part > t.best) {
          t.best = part;
          t.source = source;
          t.because = c.because;
        }
      }
    }
  }
  const out: Ranked[] = [];
  for (const t of total.values()) out.push(ranked(t.item, t.score, t.source, t.because));
  return out.sort((a, b) => b.score - a.score || (a.item < b.item ? -1 : 1));
}

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
