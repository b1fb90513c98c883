import { getter, type ComputedTraitDef } from './computed-traits.js';
import type { Envelope } from './envelope.js';

export const INTERACTION_KINDS = ['view', 'cart', 'purchase'] as const;
export type InteractionKind = (typeof INTERACTION_KINDS)[number];

export interface InteractionDef {
  event: string;
  /** Path to the item id (or ids: "properties.products[].product_id"). */
  item: string;
  kind: InteractionKind;
}

export interface Interaction {
  kind: InteractionKind;
  items: string[];
}

/** Reads which items an event is an interaction with; undefined for any other event. */
export function interactionReader(defs: readonly InteractionDef[]): (e: Envelope) => Interaction | undefined {
  const byEvent = new Map<string, { kind: InteractionKind; get: (e: Envelope) => unknown }[]>();
  for (const d of defs) {
    const list = byEvent.get(d.event) ?? [];
    list.push({ kind: d.kind, get: getter(d.item) });
    byEvent.set(d.event, list);
  }
  return (e) => {
    if (e.type !== 'track' || e.event === undefined) return undefined;
    const readers = byEvent.get(e.event);
    if (!readers) return undefined;
    for (const r of readers) {
      const v = r.get(e);
      const ids = (Array.isArray(v) ? v : [v]).filter((x): x is string | number => typeof x === 'string' || typeof x === 'number').map(String);
      if (ids.length) return { kind: r.kind, items: [...new Set(ids)] };
    }
    return undefined;
  };
}

/** The hidden computed traits through which the processor keeps each profile's recent items, one per interaction definition. */
export function recentItemTraits(defs: readonly InteractionDef[], n: number): (ComputedTraitDef & { kind: InteractionKind })[] {
  return defs.map((d, i) => ({ name: `_items_${d.kind}_${i}`, op: 'recent', event: d.event, property: d.item, n, kind: d.kind }));
}

export interface RecentItems {
  /** Newest first, across all view and cart interactions. */
  viewed: string[];
  purchased: string[];
  carted: string[];
}

/** A profile's recent items from its computed values (computedValues with hidden traits). */
export function recentItemsOf(values: Record<string, unknown>, traits: readonly (ComputedTraitDef & { kind: InteractionKind })[], n: number): RecentItems {
  const out: RecentItems = { viewed: [], purchased: [], carted: [] };
  const into = { view: out.viewed, cart: out.carted, purchase: out.purchased };
  for (const t of traits) for (const id of (values[t.name] as string[] | undefined) ?? []) into[t.kind].push(id);
  // Several definitions of one kind: their lists are each newest first; interleaving keeps rough recency.
  const dedupe = (xs: string[]) => [...new Set(xs)].slice(0, n);
  return { viewed: dedupe([...out.carted, ...out.viewed]), purchased: dedupe(out.purchased), carted: dedupe(out.carted) };
}
