import { SqliteItemStore } from '../adapters/sqlite/item-store.js';
import { HnswVectorIndex } from '../adapters/hnswlib/vector-index.js';
import type { Envelope } from '../core/envelope.js';
import { interactionReader, type RecentItems } from '../core/interactions.js';
import type { Item } from '../core/items.js';
import type { Strategy } from '../core/recommend.js';
import type { Embedder } from '../ports/embedder.js';
import type { ItemScoreDelta, PairDelta } from '../ports/item-store.js';
import { ItemIndex } from './item-index.js';
import { Recommender } from './recommender.js';
import { SignalAccumulator, halfLivesOf, type SignalSettings } from './signal-builder.js';

export interface StrategyScore {
  name: string;
  strategy: Strategy;
  /** Share of people whose held-out item is in the top k. */
  hitRate: number;
  /** Mean of 1 / log2(rank + 1) over people (0 for a miss). */
  ndcg: number;
}

export interface Evaluation {
  k: number;
  /** People evaluated: at least two interactions, the last with an item new to them. */
  people: number;
  trainingEvents: number;
  items: number;
  results: StrategyScore[];
}

/** The single-source strategies, evaluated beside the configured blends. */
export const BASELINES: Record<string, Strategy> = {
  popular: { popular: 1 },
  trending: { trending: 1 },
  cooccurrence: { cooccurrence: 1 },
  content: { content: 1 },
  affinity: { affinity: 1 },
};

/**
 * Leave-last-out: each person's last interaction is held out, every strategy is built from the
 * rest (signals, index) exactly as Mosaic builds them, and asked for k items for that person,
 * leaving out what they already interacted with. HR@k and NDCG@k say how often and how high the
 * held-out item comes.
 */
export async function evaluateRecommendations(
  events: readonly Envelope[],
  catalog: readonly Item[],
  settings: SignalSettings,
  strategies: Record<string, Strategy>,
  opts: { embedder: Embedder; k?: number; maxPeople?: number; onProgress?: (done: number, total: number) => void },
): Promise<Evaluation> {
  const k = opts.k ?? 10;
  const read = interactionReader(settings.interactions);
  const byPerson = new Map<string, { e: Envelope; kind: string; items: string[] }[]>();
  for (const e of events) {
    const hit = read(e);
    const person = e.userId ?? e.anonymousId;
    if (!hit || !person || !Number.isFinite(Date.parse(e.timestamp))) continue;
    const list = byPerson.get(person) ?? [];
    list.push({ e, kind: hit.kind, items: hit.items });
    byPerson.set(person, list);
  }
  const heldOut = new Map<string, { messageId: string; item: string }>();
  for (const [person, list] of byPerson) {
    list.sort((a, b) => Date.parse(a.e.timestamp) - Date.parse(b.e.timestamp));
    if (list.length < 2) continue;
    const last = list[list.length - 1]!;
    const item = last.items[0]!;
    if (list.slice(0, -1).some((x) => x.items.includes(item))) continue;
    heldOut.set(person, { messageId: last.e.messageId, item });
    if (opts.maxPeople !== undefined && heldOut.size >= opts.maxPeople) break;
  }
  const held = new Set([...heldOut.values()].map((h) => h.messageId));
  const training = [...events].filter((e) => !held.has(e.messageId)).sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp));

  const store = new SqliteItemStore({ dir: ':memory:' });
  try {
    await store.upsertItems(catalog);
    const acc = new SignalAccumulator(settings);
    const halfLives = halfLivesOf(settings);
    for (let i = 0; i < training.length; i += 5000) {
      const scores: ItemScoreDelta[] = [];
      const pairs: PairDelta[] = [];
      for (const e of training.slice(i, i + 5000)) acc.add(e, scores, pairs);
      await store.applySignals({ scores, pairs, ...(i > 0 ? { from: [] } : {}), positions: [] }, halfLives);
    }
    const index = ItemIndex.open(await HnswVectorIndex.open(opts.embedder.dimensions), opts.embedder, store);
    await index.sync();
    // Signals decay to the moment the held-out interactions begin.
    const cutoff = training.length ? Date.parse(training[training.length - 1]!.timestamp) : Date.now();
    const recommender = new Recommender({ items: store, index, halfLives, now: () => cutoff, cacheMs: 3_600_000 });

    const totals = Object.fromEntries(Object.keys(strategies).map((name) => [name, { hits: 0, gain: 0 }]));
    let done = 0;
    for (const [person, { item }] of heldOut) {
      const history = byPerson.get(person)!.filter((x) => !held.has(x.e.messageId));
      const newestFirst = (kinds: string[]) => [...new Set(history.filter((x) => kinds.includes(x.kind)).reverse().flatMap((x) => x.items))].slice(0, settings.recentItems);
      const recent: RecentItems = { viewed: newestFirst(['view', 'cart']), purchased: newestFirst(['purchase']), carted: newestFirst(['cart']) };
      const seen = new Set(history.flatMap((x) => x.items));
      for (const [name, strategy] of Object.entries(strategies)) {
        const { chosen } = await recommender.recommend({ strategy, recent, rules: { exclude: seen, availableOnly: false, maxPerCategory: 0 }, limit: k });
        const rank = chosen.findIndex((r) => r.item === item);
        if (rank >= 0) {
          totals[name]!.hits++;
          totals[name]!.gain += 1 / Math.log2(rank + 2);
        }
      }
      if (++done % 100 === 0) opts.onProgress?.(done, heldOut.size);
    }
    opts.onProgress?.(done, heldOut.size);
    const people = heldOut.size;
    return {
      k,
      people,
      trainingEvents: training.length,
      items: catalog.length,
      results: Object.entries(strategies).map(([name, strategy]) => ({ name, strategy, hitRate: people ? totals[name]!.hits / people : 0, ndcg: people ? totals[name]!.gain / people : 0 })),
    };
  } finally {
    await store.close();
  }
}
