import type { Decayed } from '../core/decay.js';
import type { Item } from '../core/items.js';

/** Per-item signals: decayed interaction scores with a long (popular) and a short (trending) half-life. */
export const ITEM_SIGNALS = ['popular', 'trending'] as const;
export type ItemSignal = (typeof ITEM_SIGNALS)[number];

/** Item pairs: viewed (or added to cart) by one person close in time; bought by one person. */
export const PAIR_KINDS = ['view', 'purchase'] as const;
export type PairKind = (typeof PAIR_KINDS)[number];

export type HalfLives = Record<ItemSignal | PairKind, number>;

export interface ItemScoreDelta extends Decayed {
  signal: ItemSignal;
  item: string;
}

export interface PairDelta extends Decayed {
  kind: PairKind;
  a: string;
  b: string;
}

export interface ScoredItem extends Decayed {
  item: string;
}

/** A change to the catalog since a sequence number: the item as it is now, or none (deleted). */
export interface ItemChange {
  seq: number;
  /** Stable small integer per item id, never reused: the vector index's label. */
  label: number;
  id: string;
  item?: Item;
}

export interface ChangeCursor {
  seq: number;
  label: number;
}

/**
 * The catalog and what people do with its items (popularity, co-occurrence), with the position
 * in the log the signals were built up to: signals and position are committed together, so a
 * crash or restart applies each event once.
 */
export interface ItemStore {
  /** Adds or replaces items (by id). */
  upsertItems(items: readonly Item[]): Promise<void>;
  /** Resolves with how many existed. */
  deleteItems(ids: readonly string[]): Promise<number>;
  getItems(ids: readonly string[]): Promise<Map<string, Item>>;
  /** Items in id order after `after` (a cursor). */
  listItems(after: string | undefined, limit: number): Promise<Item[]>;
  countItems(): Promise<number>;
  /**
   * Upserts and deletes after the cursor (the last change read: its seq and label), in order: how
   * a vector index follows the catalog. One call's changes share a seq, so the cursor needs both.
   */
  changes(after: ChangeCursor, limit: number): Promise<ItemChange[]>;

  /**
   * Adds the increments (decayed by `halfLives`) and saves the consumer's positions, in one
   * transaction, if the stored positions are still `from` (undefined: none stored yet). Else
   * nothing is applied and it rejects with SignalPositionsMoved: another builder (a processor that
   * took over) got there first, and this one must read the positions again.
   */
  applySignals(batch: { scores: readonly ItemScoreDelta[]; pairs: readonly PairDelta[]; from?: readonly number[]; positions: readonly number[] }, halfLives: HalfLives): Promise<void>;
  /** Where the signals were built up to (undefined: never built). */
  signalPositions(): Promise<number[] | undefined>;
  /** The highest-scored items of a signal, as stored (decay them to now with decayedAt). */
  topItems(signal: ItemSignal, limit: number): Promise<ScoredItem[]>;
  /** The highest-scored partners of each item, per item. */
  neighbors(items: readonly string[], kind: PairKind, limitPerItem: number): Promise<Map<string, ScoredItem[]>>;
  /** Forgets every signal and position (a rebuild from the log). */
  resetSignals(): Promise<void>;
  close(): Promise<void>;
}

/** applySignals found other positions than the ones the batch was read from. */
export class SignalPositionsMoved extends Error {
  constructor() {
    super('the item signals were built past these positions by another builder');
    this.name = 'SignalPositionsMoved';
  }
}
