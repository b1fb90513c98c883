import type { Item } from '../core/items.js';

/** How both item stores keep an item: its JSON, which the API returns unchanged. */
export const itemDoc = (item: Item): string => JSON.stringify(item);
export const fromItemDoc = (doc: string): Item => JSON.parse(doc) as Item;

/** One delta per key: the batch's increments to the same row added up first (decayed), so each row is written once. */
export function sumByKey<T extends { score: number; at: number }>(deltas: readonly T[], key: (d: T) => string, halfLife: (d: T) => number): T[] {
  const out = new Map<string, T>();
  for (const d of deltas) {
    const k = key(d);
    const prev = out.get(k);
    if (!prev) {
      out.set(k, { ...d });
      continue;
    }
    const h = halfLife(d);
    const at = Math.max(prev.at, d.at);
    prev.score = prev.score * 2 ** ((prev.at - at) / h) + d.score * 2 ** ((d.at - at) / h);
    prev.at = at;
  }
  return [...out.values()];
}
