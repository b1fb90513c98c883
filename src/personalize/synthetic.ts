import type { Envelope } from '../core/envelope.js';
import { mulberry32 } from '../core/minhash.js';
import type { Item } from '../core/items.js';

const CATEGORIES: { name: string; words: string[]; brands: string[]; price: number }[] = [
  { name: 'running', words: ['running', 'shoe', 'road', 'cushioned', 'marathon', 'light', 'tempo'], brands: ['Fleet', 'Stride', 'Pace'], price: 110 },
  { name: 'hiking', words: ['hiking', 'boot', 'trail', 'waterproof', 'ankle', 'grip', 'mountain'], brands: ['Ridge', 'Summit', 'Alp'], price: 150 },
  { name: 'tennis', words: ['tennis', 'racket', 'court', 'string', 'grip', 'spin', 'ball'], brands: ['Ace', 'Volley', 'Deuce'], price: 90 },
  { name: 'yoga', words: ['yoga', 'mat', 'stretch', 'block', 'strap', 'balance', 'breath'], brands: ['Lotus', 'Calm', 'Asana'], price: 40 },
  { name: 'cycling', words: ['cycling', 'bike', 'helmet', 'pedal', 'jersey', 'saddle', 'gear'], brands: ['Spoke', 'Crank', 'Velo'], price: 130 },
  { name: 'swimming', words: ['swimming', 'goggles', 'pool', 'cap', 'fins', 'lane', 'stroke'], brands: ['Wave', 'Tide', 'Lap'], price: 30 },
  { name: 'camping', words: ['camping', 'tent', 'sleeping', 'bag', 'stove', 'lantern', 'outdoor'], brands: ['Camp', 'Ember', 'Pine'], price: 120 },
  { name: 'fishing', words: ['fishing', 'rod', 'reel', 'lure', 'line', 'tackle', 'bait'], brands: ['Cast', 'Hook', 'Reel'], price: 70 },
];

/** Signal settings for the generated shop's events (Segment's e-commerce names): the defaults, written out. */
export const SHOP_SIGNAL_SETTINGS = {
  interactions: [
    { event: 'Product Viewed', item: 'properties.product_id', kind: 'view' as const },
    { event: 'Order Completed', item: 'properties.products[].product_id', kind: 'purchase' as const },
  ],
  weights: { view: 1, cart: 3, purchase: 5 },
  halfLifeDays: { popular: 7, trending: 1, view: 30, purchase: 90 },
  pairWindowHours: 24,
  peopleInMemory: 100_000,
  recentItems: 20,
};

export interface SyntheticShop {
  items: Item[];
  /** Track events (Product Viewed, Order Completed) in time order. */
  events: Envelope[];
}

/**
 * A shop whose behaviour has the structure recommenders look for, generated from a seed (the
 * offline evaluation's test data, and the decision bench's): each person prefers one or two
 * categories; after viewing an item they often view its companion (the next one in its category,
 * as a tent goes with a sleeping bag); and some items are popular with everyone (Zipf). A
 * strategy that learns from behaviour must beat popularity on it; popularity alone gets the
 * popular share right.
 */
export function syntheticShop(opts: { seed?: number; users?: number; itemsPerCategory?: number; eventsPerUser?: number; start?: number } = {}): SyntheticShop {
  const rand = mulberry32(opts.seed ?? 42); // seeded: the same data on every machine
  const perCategory = opts.itemsPerCategory ?? 25;
  const users = opts.users ?? 1000;
  const eventsPerUser = opts.eventsPerUser ?? 12;
  const start = opts.start ?? Date.parse('2026-10-01T00:00:00.000Z');
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  // Zipf over ranks 1..n: P(k) ∝ 1/k.
  const zipf = (n: number): number => {
    const h = Array.from({ length: n }, (_, k) => 1 / (k + 1)).reduce((a, b) => a + b, 0);
    let u = rand() * h;
    for (let k = 0; k < n; k++) {
      u -= 1 / (k + 1);
      if (u <= 0) return k;
    }
    return n - 1;
  };

  const items: Item[] = [];
  CATEGORIES.forEach((c, ci) => {
    for (let j = 0; j < perCategory; j++) {
      const brand = c.brands[j % c.brands.length]!;
      const words = Array.from({ length: 4 }, () => pick(c.words));
      items.push({
        id: `${c.name}-${j}`,
        title: `${brand} ${words[0]} ${words[1]} ${j}`,
        categories: [c.name],
        tags: [words[2]!],
        brand,
        price: Math.round(c.price * (0.5 + rand()) * 100) / 100,
        available: true,
        text: `${words.join(' ')} ${c.name} gear by ${brand}`,
        attributes: { category_index: ci },
      });
    }
  });
  const itemOf = (ci: number, j: number) => items[ci * perCategory + (j % perCategory)]!;

  const events: Envelope[] = [];
  let n = 0;
  for (let u = 0; u < users; u++) {
    const userId = `user-${u}`;
    const likes = [Math.floor(rand() * CATEGORIES.length)];
    if (rand() < 0.3) likes.push(Math.floor(rand() * CATEGORIES.length));
    let t = start + Math.floor(rand() * 30 * 86_400_000);
    let current = itemOf(pick(likes), zipf(perCategory));
    const steps = Math.max(2, Math.round(eventsPerUser * (0.5 + rand())));
    for (let s = 0; s < steps; s++) {
      const timestamp = new Date(t).toISOString();
      events.push({ type: 'track', event: 'Product Viewed', userId, messageId: `syn-${n++}`, timestamp, receivedAt: timestamp, sourceId: 'synthetic', properties: { product_id: current.id, category: current.categories[0] } });
      if (rand() < 0.12) {
        const at = new Date(t + 60_000).toISOString();
        events.push({ type: 'track', event: 'Order Completed', userId, messageId: `syn-${n++}`, timestamp: at, receivedAt: at, sourceId: 'synthetic', properties: { products: [{ product_id: current.id }], revenue: current.price } });
      }
      t += 60_000 + Math.floor(rand() * 20 * 60_000);
      const r = rand();
      const ci = CATEGORIES.findIndex((c) => c.name === current.categories[0]);
      const j = Number(current.id.slice(current.id.lastIndexOf('-') + 1));
      if (r < 0.55) current = itemOf(ci, j + 1); // its companion
      else if (r < 0.9) current = itemOf(pick(likes), zipf(perCategory)); // something else they like
      else current = itemOf(Math.floor(rand() * CATEGORIES.length), zipf(perCategory)); // whatever is popular
    }
  }
  events.sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0));
  return { items, events };
}
