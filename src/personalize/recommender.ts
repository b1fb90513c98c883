import { LRUCache } from 'lru-cache';
import { decayedAt } from '../core/decay.js';
import type { RecentItems } from '../core/interactions.js';
import type { Item } from '../core/items.js';
import { affinityOf, affinityScore, applyRules, blend, candidate, hasAffinity, ranked as rankedItem, type Candidate, type Ranked, type Rules, type Source, type Strategy } from '../core/recommend.js';
import type { HalfLives, ItemSignal, ItemStore, PairKind } from '../ports/item-store.js';
import type { ItemIndex } from './item-index.js';

/** Popular and trending candidates per decision; also the pool affinity ranks. */
const TOP_N = 60;
/** Partners per seed item, by co-occurrence and by content: enough for answers of up to 100 items from a few seeds. */
const NEIGHBORS = 15;
/** Of the other sources' candidates, the best this many also go to affinity's pool. */
const AFFINITY_FROM_EACH = 20;
const FALLBACK: Strategy = { popular: 1 };

/**
 * A cache lifetime spread over ±25%: entries filled together (a warm-up, a burst of traffic)
 * would otherwise expire together, and their refills would queue in one event-loop turn.
 */
const jittered = (ms: number) => Math.round(ms * (0.75 + Math.random() / 2));

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
  private readonly pairCache: LRUCache<string, Candidate[]>;
  private readonly similarCache = new LRUCache<string, { id: string; similarity: number }[]>({ max: 20_000, ttl: 60_000 });
  private readonly pairTtl: number;
  private readonly tops = new Map<ItemSignal, { at: number; list: Promise<Candidate[]> }>();

  /**
   * `cacheMs`: how long a seed's partner list is kept (default 60 s). Where the signal builder
   * runs in this process (`mosaic up`, a processor that also serves) changed lists are forgotten
   * at once (forgetPairs); elsewhere a list is at most this old.
   */
  constructor(private readonly deps: { items: ItemStore; index?: ItemIndex; halfLives: HalfLives; cacheMs?: number; now?: () => number }) {
    this.pairTtl = deps.cacheMs ?? 60_000;
    // Catalog items are forgotten when they change (forgetItems, from the item index that follows
    // the catalog); no age limit, which would cost a clock read on each of a decision's many gets.
    this.itemCache = new LRUCache({ max: 100_000 });
    this.pairCache = new LRUCache({ max: 50_000, ttl: this.pairTtl });
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
      ranked = [...ranked, ...blend({ popular: await this.decayedTop('popular') }, FALLBACK).map((r) => rankedItem(r.item, 0, r.source, r.because))];
    }
    const all: Ranked[] = [...(input.pinned ?? []).map((item) => rankedItem(item, 1, 'popular')), ...ranked];
    // Catalog entries for the best-ranked first: most answers fill up from the top few.
    let n = Math.max(20, input.limit * 3);
    const catalog = await this.itemsOf(all.slice(0, n).map((r) => r.item));
    let chosen = applyRules(all.slice(0, n), catalog, input.rules, input.limit);
    while (chosen.length < input.limit && n < all.length) {
      n *= 4;
      for (const [id, item] of await this.itemsOf(all.slice(0, n).map((r) => r.item))) catalog.set(id, item);
      chosen = applyRules(all.slice(0, n), catalog, input.rules, input.limit);
    }
    const missing = chosen.map((r) => r.because).filter((x): x is string => x !== undefined && !catalog.has(x));
    for (const [id, item] of await this.itemsOf(missing)) catalog.set(id, item);
    return { chosen, catalog };
  }

  /** A signal's top items with their scores decayed to now, read (and decayed) at most every 2 s. */
  private decayedTop(signal: ItemSignal): Promise<Candidate[]> {
    const cached = this.tops.get(signal);
    if (cached && this.now() - cached.at < 2000 && cached.at <= this.now()) return cached.list;
    const at = this.now();
    const h = this.deps.halfLives[signal];
    const list = this.deps.items.topItems(signal, TOP_N).then((top) => top.map((t) => candidate(t.item, decayedAt(t, at, h))));
    this.tops.set(signal, { at, list });
    list.catch(() => this.tops.delete(signal));
    return list;
  }

  /** An item's nearest items by content, cached (the index changes slowly; a minute of staleness is fine). */
  private similarTo(id: string): { id: string; similarity: number }[] {
    let hit = this.similarCache.get(id);
    if (!hit) {
      const v = this.deps.index?.vectorOf(id);
      hit = v ? this.deps.index!.nearest(v, NEIGHBORS, new Set([id])) : [];
      this.similarCache.set(id, hit, { ttl: jittered(60_000) });
    }
    return hit;
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
        const lists = await this.neighbors(seeds, kind);
        seeds.forEach((seed, i) => {
          for (const n of lists.get(seed) ?? []) {
            const s = weight(i) * n.score;
            const c = scores.get(n.item);
            if (!c) scores.set(n.item, candidate(n.item, s, seed));
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
      // Item-to-item: each seed's nearest items (cached per item: popular seeds are shared by many
      // people), summed by the seed's weight; the reason is the seed that gave the most.
      const seeds = [...new Set([...viewedSeeds, ...recent.purchased.slice(0, 3)])];
      const scores = new Map<string, Candidate>();
      const best = new Map<string, number>();
      seeds.forEach((seed, i) => {
        for (const n of this.similarTo(seed)) {
          if (n.similarity <= 0) continue;
          const part = weight(i) * n.similarity;
          const c = scores.get(n.id);
          if (!c) {
            scores.set(n.id, candidate(n.id, part, seed));
            best.set(n.id, part);
          } else {
            c.score += part;
            if (part > best.get(n.id)!) {
              best.set(n.id, part);
              c.because = seed;
            }
          }
        }
      });
      for (const seed of seeds) scores.delete(seed);
      content = [...scores.values()];
      if (want('content')) out.content = content;
    }

    for (const s of ['popular', 'trending'] as const) if (want(s)) out[s] = await this.decayedTop(s);

    if (want('affinity')) {
      const history = [...recent.viewed.map((id, rank) => ({ id, rank, purchased: false })), ...recent.purchased.map((id, rank) => ({ id, rank, purchased: true }))];
      const known = await this.itemsOf(history.map((h) => h.id));
      const taste = affinityOf(history.filter((h) => known.has(h.id)).map((h) => ({ item: known.get(h.id)!, purchased: h.purchased, rank: h.rank })));
      if (hasAffinity(taste)) {
        const pool = new Set<string>((await this.decayedTop('popular')).map((t) => t.item));
        for (const list of [...Object.values(out), content]) {
          const best = list.length > AFFINITY_FROM_EACH ? [...list].sort((a, b) => b.score - a.score).slice(0, AFFINITY_FROM_EACH) : list;
          for (const c of best) pool.add(c.item);
        }
        const items = await this.itemsOf([...pool]);
        out.affinity = [...items.values()].map((item) => affinityScore(item, taste));
      }
    }
    return out;
  }

  /** Each seed's partners, their scores decayed to when they were read (the decay in a cache's lifetime does not change their order). */
  private async neighbors(seeds: string[], kind: PairKind): Promise<Map<string, Candidate[]>> {
    const out = new Map<string, Candidate[]>();
    const missing: string[] = [];
    for (const s of new Set(seeds)) {
      const hit = this.pairCache.get(`${kind}\u0000${s}`);
      if (hit) out.set(s, hit);
      else missing.push(s);
    }
    if (missing.length) {
      const now = this.now();
      const h = this.deps.halfLives[kind];
      for (const [s, list] of await this.deps.items.neighbors(missing, kind, NEIGHBORS)) {
        const decayed = list.map((n) => candidate(n.item, decayedAt(n, now, h)));
        this.pairCache.set(`${kind}\u0000${s}`, decayed, { ttl: jittered(this.pairTtl) });
        out.set(s, decayed);
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

  /** Forgets the cached partner lists of both items of each changed pair (the signal builder in this process changed them). */
  forgetPairs(pairs: readonly { kind: PairKind; a: string; b: string }[]): void {
    for (const { kind, a, b } of pairs) {
      this.pairCache.delete(`${kind}\u0000${a}`);
      this.pairCache.delete(`${kind}\u0000${b}`);
    }
  }

  /** Forgets cached catalog items (after the catalog changed through this process). */
  forgetItems(ids: readonly string[]): void {
    for (const id of ids) this.itemCache.delete(id);
  }

}
