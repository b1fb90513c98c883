import { LRUCache } from 'lru-cache';
import { decayedAt } from '../core/decay.js';
import { cosine, normalize } from '../core/hashing-vectorizer.js';
import type { RecentItems } from '../core/interactions.js';
import type { Item } from '../core/items.js';
import { affinityOf, affinityScore, applyRules, blend, hasAffinity, type Candidate, type Ranked, type Rules, type Source, type Strategy } from '../core/recommend.js';
import type { HalfLives, ItemSignal, ItemStore, PairKind, ScoredItem } from '../ports/item-store.js';
import type { ItemIndex } from './item-index.js';

const TOP_N = 300;
const NEIGHBORS = 50;
const FALLBACK: Strategy = { popular: 1 };

export interface RecommendInput {
  strategy: Strategy;
  /** The person's history (empty without consent, or for someone unknown). */
  recent: RecentItems;
  /** The item on the page, if any: it seeds co-occurrence and similarity whoever asks. */
  current?: string;
  /** Shown first (rule-based content), in order, subject to the rules like the rest. */
  pinned?: readonly string[];
  rules: Rules;
  limit: number;
}

/**
 * Candidates from each source a strategy blends, the blend, and the business rules: the part of
 * a decision that does not depend on who asks, only on their recent items. Used by the decision
 * API and by the offline evaluation, so both measure the same code. Reads go to caches first
 * (catalog items, top lists, co-occurrence lists).
 */
export class Recommender {
  private readonly itemCache: LRUCache<string, Item | false>;
  private readonly pairCache: LRUCache<string, ScoredItem[]>;
  private readonly tops = new Map<ItemSignal, { at: number; list: Promise<ScoredItem[]> }>();

  constructor(private readonly deps: { items: ItemStore; index?: ItemIndex; halfLives: HalfLives; cacheMs?: number; now?: () => number }) {
    const ttl = deps.cacheMs ?? 5000;
    this.itemCache = new LRUCache({ max: 100_000, ttl });
    this.pairCache = new LRUCache({ max: 50_000, ttl });
  }

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  /** The chosen items, best first, with the catalog entries they and their reasons name. */
  async recommend(input: RecommendInput): Promise<{ chosen: Ranked[]; catalog: Map<string, Item> }> {
    const { strategy } = input;
    const sources = await this.candidates(strategy, input.recent, input.current);
    let ranked = blend(sources, strategy);
    // Cold start, or a strategy without popularity: popular items fill what the others leave.
    if (!((strategy.popular ?? 0) > 0 || (strategy.trending ?? 0) > 0)) {
      ranked = [...ranked, ...blend({ popular: await this.decayedTop('popular') }, FALLBACK).map((r) => ({ ...r, score: 0 }))];
    }
    const all: Ranked[] = [...(input.pinned ?? []).map((item) => ({ item, score: 1, source: 'popular' as const })), ...ranked];
    const catalog = await this.itemsOf(all.map((r) => r.item));
    const chosen = applyRules(all, catalog, input.rules, input.limit);
    const missing = chosen.map((r) => r.because).filter((x): x is string => x !== undefined && !catalog.has(x));
    for (const [id, item] of await this.itemsOf(missing)) catalog.set(id, item);
    return { chosen, catalog };
  }

  private async decayedTop(signal: ItemSignal): Promise<Candidate[]> {
    const now = this.now();
    const h = this.deps.halfLives[signal];
    return (await this.top(signal)).map((t) => ({ item: t.item, score: decayedAt(t, now, h) }));
  }

  private async candidates(strategy: Strategy, recent: RecentItems, current: string | undefined): Promise<Partial<Record<Source, Candidate[]>>> {
    const out: Partial<Record<Source, Candidate[]>> = {};
    const want = (s: Source) => (strategy[s] ?? 0) > 0;
    // Seeds: the item on the page, then recent items, each weighing less the further back it is.
    const viewedSeeds = [...(current ? [current] : []), ...recent.viewed.slice(0, 5)];
    const boughtSeeds = [...(current ? [current] : []), ...recent.purchased.slice(0, 3)];
    const weight = (i: number) => 0.8 ** i;
    let content: Candidate[] = [];

    if (want('cooccurrence') && viewedSeeds.length + boughtSeeds.length > 0) {
      const scores = new Map<string, Candidate>();
      const add = async (seeds: string[], kind: PairKind) => {
        const now = this.now();
        const lists = await this.neighbors(seeds, kind);
        seeds.forEach((seed, i) => {
          for (const n of lists.get(seed) ?? []) {
            const s = weight(i) * decayedAt(n, now, this.deps.halfLives[kind]);
            const c = scores.get(n.item);
            if (!c) scores.set(n.item, { item: n.item, score: s, because: seed });
            else c.score += s;
          }
        });
      };
      await add(viewedSeeds, 'view');
      await add(boughtSeeds, 'purchase');
      out.cooccurrence = [...scores.values()];
    }

    // Content neighbours are also where affinity finds items nobody interacted with yet.
    if ((want('content') || want('affinity')) && this.deps.index) {
      const seeds = [...new Set([...viewedSeeds, ...recent.purchased.slice(0, 3)])];
      const vectors = seeds.map((id) => [id, this.deps.index!.vectorOf(id)] as const).filter((x): x is readonly [string, Float32Array] => x[1] !== undefined);
      if (vectors.length) {
        const query = new Float32Array(this.deps.index.vectorOf(vectors[0]![0])!.length);
        vectors.forEach(([, v], i) => v.forEach((x, d) => (query[d]! += x * weight(i))));
        normalize(query);
        content = this.deps.index.nearest(query, NEIGHBORS, new Set(seeds)).map((r) => {
          // Because of the seed it is most like.
          let best = vectors[0]![0];
          let bestSim = -Infinity;
          const v = this.deps.index!.vectorOf(r.id);
          for (const [id, sv] of vectors) {
            const sim = v ? cosine(v, sv) : 0;
            if (sim > bestSim) [best, bestSim] = [id, sim];
          }
          return { item: r.id, score: Math.max(0, r.similarity), because: best };
        });
        if (want('content')) out.content = content;
      }
    }

    for (const s of ['popular', 'trending'] as const) if (want(s)) out[s] = await this.decayedTop(s);

    if (want('affinity')) {
      const history = [...recent.viewed.map((id, rank) => ({ id, rank, purchased: false })), ...recent.purchased.map((id, rank) => ({ id, rank, purchased: true }))];
      const known = await this.itemsOf(history.map((h) => h.id));
      const taste = affinityOf(history.filter((h) => known.has(h.id)).map((h) => ({ item: known.get(h.id)!, purchased: h.purchased, rank: h.rank })));
      if (hasAffinity(taste)) {
        const pool = new Set<string>([...(await this.top('popular')).map((t) => t.item), ...(await this.top('trending')).map((t) => t.item)]);
        for (const list of [...Object.values(out), content]) for (const c of list) pool.add(c.item);
        const items = await this.itemsOf([...pool]);
        out.affinity = [...items.values()].map((item) => ({ item: item.id, ...affinityScore(item, taste) }));
      }
    }
    return out;
  }

  /** A signal's top items, read at most every 2 s. */
  private top(signal: ItemSignal): Promise<ScoredItem[]> {
    const cached = this.tops.get(signal);
    if (cached && Date.now() - cached.at < 2000) return cached.list;
    const list = this.deps.items.topItems(signal, TOP_N);
    this.tops.set(signal, { at: Date.now(), list });
    list.catch(() => this.tops.delete(signal));
    return list;
  }

  private async neighbors(seeds: string[], kind: PairKind): Promise<Map<string, ScoredItem[]>> {
    const out = new Map<string, ScoredItem[]>();
    const missing: string[] = [];
    for (const s of new Set(seeds)) {
      const hit = this.pairCache.get(`${kind}\u0000${s}`);
      if (hit) out.set(s, hit);
      else missing.push(s);
    }
    if (missing.length) {
      for (const [s, list] of await this.deps.items.neighbors(missing, kind, NEIGHBORS)) {
        this.pairCache.set(`${kind}\u0000${s}`, list);
        out.set(s, list);
      }
    }
    return out;
  }

  async itemsOf(ids: readonly string[]): Promise<Map<string, Item>> {
    const out = new Map<string, Item>();
    const missing: string[] = [];
    for (const id of new Set(ids)) {
      const hit = this.itemCache.get(id);
      if (hit) out.set(id, hit);
      else if (hit === undefined) missing.push(id);
    }
    if (missing.length) {
      const found = await this.deps.items.getItems(missing);
      for (const id of missing) {
        const item = found.get(id);
        // Remembered as absent too: an id the catalog lacks costs one lookup per cache lifetime.
        this.itemCache.set(id, item ?? false);
        if (item) out.set(id, item);
      }
    }
    return out;
  }

  /** Forgets cached catalog items (after the catalog changed through this process). */
  forgetItems(ids: readonly string[]): void {
    for (const id of ids) this.itemCache.delete(id);
  }

}
