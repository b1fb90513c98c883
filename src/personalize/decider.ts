import { LRUCache } from 'lru-cache';
import type { Cluster } from '../core/identity-graph.js';
import type { IdentityRules } from '../core/identity.js';
import type { Envelope } from '../core/envelope.js';
import type { Pseudonymizer } from '../core/pseudonymize.js';
import { computedValues } from '../core/computed-traits.js';
import { decayedAt } from '../core/decay.js';
import { recentItemsOf, type InteractionKind, type RecentItems } from '../core/interactions.js';
import type { Item } from '../core/items.js';
import { assembleProfile, consents, type ProfileDoc, type ProfileModel } from '../core/profile.js';
import { cosine, normalize } from '../core/hashing-vectorizer.js';
import { affinityOf, affinityScore, applyRules, blend, bucketOf, hasAffinity, variantOf, type Candidate, type Ranked, type Source, type Strategy } from '../core/recommend.js';
import { MosaicError } from '../errors.js';
import type { Metrics } from '../observe/metrics.js';
import type { ItemSignal, ItemStore, PairKind, ScoredItem } from '../ports/item-store.js';
import type { ProfileStore } from '../ports/profile-store.js';
import { resolveSubject } from '../privacy/subject.js';
import type { ItemIndex } from './item-index.js';
import type { HalfLives } from '../ports/item-store.js';
import type { ComputedTraitDef } from '../core/computed-traits.js';

export interface Placement {
  strategy?: Strategy;
  limit: number;
  rules: { excludePurchased: boolean; excludeViewed: boolean; availableOnly: boolean; maxPerCategory: number };
  content: { audience: string; items: string[]; reason?: string }[];
  experiment?: { name: string; variants: { name: string; weight: number; strategy?: Strategy }[] };
}

export interface DecideRequest {
  /** `<idType>:<id>`, as in the profile API; or userId / anonymousId. */
  id?: string;
  userId?: string;
  anonymousId?: string;
  placement: string;
  limit?: number;
  context?: { item?: string; page?: Record<string, unknown>; device?: Record<string, unknown> };
  filters?: { categories?: string[]; exclude?: string[]; minPrice?: number; maxPrice?: number };
}

export interface DecidedItem {
  id: string;
  score: number;
  source: Source | 'rule';
  reason: string;
  item: Item;
}

export interface Decision {
  placement: string;
  /** The profile decided for (absent: nobody known by this identity). */
  profileId?: string;
  personalized: boolean;
  variant?: { experiment: string; name: string };
  items: DecidedItem[];
}

/** The default blend when a placement names none. */
export const DEFAULT_STRATEGY: Strategy = { cooccurrence: 3, content: 1, affinity: 1, popular: 1 };
const FALLBACK: Strategy = { popular: 1 };
const TOP_N = 300;
const NEIGHBORS = 50;

export interface DeciderDeps {
  store: ProfileStore;
  items: ItemStore;
  index?: ItemIndex;
  rules: IdentityRules;
  model: ProfileModel;
  placements: Readonly<Record<string, Placement>>;
  /** The hidden traits holding recent items (core/interactions.ts recentItemTraits). */
  itemTraits: readonly (ComputedTraitDef & { kind: InteractionKind })[];
  recentItems: number;
  halfLives: HalfLives;
  pseudonymizer?: Pseudonymizer;
  metrics?: Metrics;
  /** Appends an experiment exposure event (not awaited by the decision). */
  expose?: (e: Envelope) => void;
  /** Cache lifetimes: catalog items and co-occurrence lists (ms). */
  cacheMs?: number;
}

interface Person {
  profileId: string;
  doc: ProfileDoc;
  audiences: string[];
}

/**
 * POST /v1/decide's engine: the person's profile (recent items, audiences, consent), candidates
 * from each source the placement blends, business rules, the experiment variant. Reads go to
 * caches first (catalog items, top lists, co-occurrence) so a decision costs a profile read
 * and in-memory work.
 */
export class Decider {
  private readonly itemCache: LRUCache<string, Item | false>;
  private readonly pairCache: LRUCache<string, ScoredItem[]>;
  private readonly tops = new Map<ItemSignal, { at: number; list: Promise<ScoredItem[]> }>();

  constructor(private readonly deps: DeciderDeps) {
    const ttl = deps.cacheMs ?? 5000;
    this.itemCache = new LRUCache({ max: 100_000, ttl });
    this.pairCache = new LRUCache({ max: 50_000, ttl });
  }

  placementNames(): string[] {
    return Object.keys(this.deps.placements);
  }

  async decide(req: DecideRequest): Promise<Decision> {
    const started = performance.now();
    const placement = this.deps.placements[req.placement];
    if (!placement) {
      throw new MosaicError('MOSAIC_PLACEMENT_NOT_FOUND', { message: `No placement "${req.placement}"; configured: ${this.placementNames().join(', ') || '(none)'}.` });
    }
    const limit = req.limit ?? placement.limit;
    const person = await this.person(req);
    const personalized = person !== undefined && consents(person.doc, 'personalization', this.deps.model);

    let strategy = placement.strategy ?? DEFAULT_STRATEGY;
    let variant: Decision['variant'];
    const unit = person?.profileId ?? this.refOf(req);
    if (placement.experiment && unit !== undefined) {
      const v = variantOf(placement.experiment.variants, bucketOf(placement.experiment.name, unit));
      variant = { experiment: placement.experiment.name, name: v.name };
      strategy = v.strategy ?? strategy;
      if (person) this.exposure(person, req.placement, variant);
    }

    const recent: RecentItems = personalized ? recentItemsOf(computedValues(person.doc.computed, this.deps.model.computedTraits ?? [], Date.now(), true), this.deps.itemTraits, this.deps.recentItems) : { viewed: [], purchased: [], carted: [] };
    // Without consent nothing of the person's history is used: what remains is popularity, and
    // what goes with the item on the page (context the request gives, not a profile).
    const used = strategy;
    const sources = await this.candidates(used, recent, req.context?.item);

    const exclude = new Set<string>(req.filters?.exclude ?? []);
    if (req.context?.item) exclude.add(req.context.item);
    if (personalized && placement.rules.excludePurchased) for (const id of recent.purchased) exclude.add(id);
    if (personalized && placement.rules.excludeViewed) for (const id of recent.viewed) exclude.add(id);
    const rules = {
      exclude,
      availableOnly: placement.rules.availableOnly,
      maxPerCategory: placement.rules.maxPerCategory,
      ...(req.filters?.categories ? { categories: req.filters.categories } : {}),
      ...(req.filters?.minPrice !== undefined ? { minPrice: req.filters.minPrice } : {}),
      ...(req.filters?.maxPrice !== undefined ? { maxPrice: req.filters.maxPrice } : {}),
    };

    // Rule-based content first: members of an audience see its items.
    const pinned: Ranked[] = [];
    const pinnedReason = new Map<string, string>();
    if (personalized) {
      for (const c of placement.content) {
        if (!person.audiences.includes(c.audience)) continue;
        for (const id of c.items) {
          if (pinnedReason.has(id)) continue;
          pinned.push({ item: id, score: 1, source: 'popular' });
          pinnedReason.set(id, c.reason ?? `For the ${c.audience} audience`);
        }
      }
    }
    let ranked = blend(sources, used);
    // Cold start, or too few candidates after the rules: popularity fills the rest.
    if (!Object.keys(used).some((s) => s === 'popular' || s === 'trending')) {
      ranked = [...ranked, ...blend({ popular: await this.top('popular') }, FALLBACK).map((r) => ({ ...r, score: 0 }))];
    }
    const all = [...pinned, ...ranked];
    const catalog = await this.itemsOf(all.map((r) => r.item));
    const chosen = applyRules(all, catalog, rules, limit);

    const titles = await this.itemsOf(chosen.map((r) => r.because).filter((x): x is string => x !== undefined && !catalog.has(x)));
    const titleOf = (id: string) => catalog.get(id)?.title ?? titles.get(id)?.title ?? id;
    const items: DecidedItem[] = chosen.map((r) => {
      const rule = pinnedReason.get(r.item);
      return {
        id: r.item,
        score: Math.round((rule ? 1 : r.score) * 1e6) / 1e6,
        source: rule ? 'rule' : r.source,
        reason: rule ?? reasonOf(r, titleOf),
        item: catalog.get(r.item)!,
      };
    });
    this.deps.metrics?.decisions.inc({ placement: req.placement, variant: variant?.name ?? '', personalized: String(personalized) });
    this.deps.metrics?.decideSeconds.observe((performance.now() - started) / 1000);
    return { placement: req.placement, ...(person ? { profileId: person.profileId } : {}), personalized, ...(variant ? { variant } : {}), items };
  }

  private refOf(req: DecideRequest): string | undefined {
    return req.id ?? (req.userId !== undefined ? `user_id:${req.userId}` : req.anonymousId !== undefined ? `anonymous_id:${req.anonymousId}` : undefined);
  }

  private async person(req: DecideRequest): Promise<Person | undefined> {
    const ref = this.refOf(req);
    if (ref === undefined) return undefined;
    const { store, rules, model } = this.deps;
    const node = await resolveSubject(ref, rules, store, this.deps.pseudonymizer);
    if (node.key === undefined) return undefined;
    let cluster: Cluster | undefined;
    let parts: ProfileDoc[];
    let audiences: string[];
    if (store.readProfile) {
      const found = await store.readProfile(node.key);
      if (!found) return undefined;
      ({ cluster, parts, audiences } = found);
    } else {
      cluster = await store.findCluster(node.key);
      if (!cluster) return undefined;
      parts = [...(await store.getParts(cluster.members)).values()];
      audiences = [...((await store.memberships([cluster.id])).get(cluster.id) ?? [])];
    }
    const doc = assembleProfile(cluster, parts.sort((a, b) => (a.id < b.id ? -1 : 1)), model);
    return { profileId: cluster.id, doc, audiences };
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
        const now = Date.now();
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

    const now = Date.now();
    for (const s of ['popular', 'trending'] as const) {
      if (want(s) || want('affinity')) {
        const h = this.deps.halfLives[s];
        const list = (await this.top(s)).map((t) => ({ item: t.item, score: decayedAt(t, now, h) }));
        if (want(s)) out[s] = list;
      }
    }

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

  private async itemsOf(ids: readonly string[]): Promise<Map<string, Item>> {
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

  private exposure(person: Person, placement: string, variant: { experiment: string; name: string }): void {
    if (!this.deps.expose) return;
    const userId = person.doc.identities.find((k) => k.startsWith('user_id:'))?.slice('user_id:'.length);
    const anonymousId = userId === undefined ? (person.doc.identities.find((k) => k.startsWith('anonymous_id:'))?.slice('anonymous_id:'.length) ?? person.profileId) : undefined;
    const now = new Date();
    const day = now.toISOString().slice(0, 10);
    this.deps.expose({
      type: 'track',
      event: 'Experiment Viewed',
      // One exposure per person, experiment and day: the log's dedup keeps the first.
      messageId: `exp-${variant.experiment}-${person.profileId}-${day}`,
      ...(userId !== undefined ? { userId } : { anonymousId: anonymousId! }),
      timestamp: now.toISOString(),
      receivedAt: now.toISOString(),
      sourceId: EXPERIMENT_SOURCE_ID,
      properties: { experiment_id: variant.experiment, experiment_name: variant.experiment, variant_name: variant.name, placement, profile_id: person.profileId },
      context: { library: { name: 'mosaic', version: '1' } },
    } as Envelope);
  }
}

export const EXPERIMENT_SOURCE_ID = 'mosaic:experiments';

function reasonOf(r: Ranked, titleOf: (id: string) => string): string {
  switch (r.source) {
    case 'cooccurrence':
      return r.because ? `Often viewed or bought with "${titleOf(r.because)}"` : 'Often viewed or bought together';
    case 'content':
      return r.because ? `Similar to "${titleOf(r.because)}"` : 'Similar to what you viewed';
    case 'affinity':
      return r.because ? `Matches your interest in ${r.because}` : 'Matches your interests';
    case 'trending':
      return 'Trending now';
    default:
      return 'Popular';
  }
}
