import { join } from 'node:path';
import type { Item } from '../../core/items.js';
import { SignalPositionsMoved, type ChangeCursor, type HalfLives, type ItemChange, type ItemSignal, type ItemScoreDelta, type ItemStore, type PairDelta, type PairKind, type ScoredItem } from '../../ports/item-store.js';
import { fromItemDoc, itemDoc, sumByKey } from '../item-rows.js';
import { migrate, openSqlite, type SqliteDb } from './open.js';

const MIGRATIONS = [
  // label: the vector index's key for the item, never reused (AUTOINCREMENT).
  `CREATE TABLE items (label INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, doc TEXT, seq INTEGER NOT NULL);
   CREATE INDEX items_seq ON items (seq);
   CREATE TABLE item_scores (signal TEXT NOT NULL, item TEXT NOT NULL, score REAL NOT NULL, at INTEGER NOT NULL, rank REAL NOT NULL, PRIMARY KEY (signal, item)) WITHOUT ROWID;
   CREATE INDEX item_scores_rank ON item_scores (signal, rank DESC);
   CREATE TABLE item_pairs (kind TEXT NOT NULL, a TEXT NOT NULL, b TEXT NOT NULL, score REAL NOT NULL, at INTEGER NOT NULL, rank REAL NOT NULL, PRIMARY KEY (kind, a, b)) WITHOUT ROWID;
   CREATE INDEX item_pairs_rank ON item_pairs (kind, a, rank DESC);
   CREATE TABLE signal_positions (id INTEGER PRIMARY KEY CHECK (id = 1), positions TEXT NOT NULL);`,
];

// Decayed addition (core/decay.ts) in SQL: every SET expression reads the row's old values.
const UPSERT_DECAYED = (keys: string) => `
  ON CONFLICT (${keys}) DO UPDATE SET
    score = score * pow(2, (at - max(at, excluded.at)) / @h) + excluded.score * pow(2, (excluded.at - max(at, excluded.at)) / @h),
    at = max(at, excluded.at),
    rank = log2(score * pow(2, (at - max(at, excluded.at)) / @h) + excluded.score * pow(2, (excluded.at - max(at, excluded.at)) / @h)) + max(at, excluded.at) / @h`;

/** The catalog and item signals in `items.db` in the data directory. */
export class SqliteItemStore implements ItemStore {
  private readonly db: SqliteDb;
  private readonly stmts;
  private readonly upsertTx;
  private readonly deleteTx;
  private readonly signalsTx;

  constructor(opts: { dir: string }) {
    // fsynced: the catalog is not rebuilt from the log (signals could be, the catalog cannot).
    this.db = openSqlite(opts.dir === ':memory:' ? ':memory:' : join(opts.dir, 'items.db'), { sync: 'full', cacheMb: 16 });
    migrate(this.db, MIGRATIONS);
    const db = this.db;
    this.stmts = {
      nextSeq: db.prepare('SELECT coalesce(max(seq), 0) + 1 FROM items').pluck(),
      upsert: db.prepare('INSERT INTO items (id, doc, seq) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, seq = excluded.seq'),
      remove: db.prepare('UPDATE items SET doc = NULL, seq = ? WHERE id = ? AND doc IS NOT NULL'),
      get: db.prepare('SELECT doc FROM items WHERE id = ? AND doc IS NOT NULL').pluck(),
      list: db.prepare('SELECT doc FROM items WHERE doc IS NOT NULL AND id > ? ORDER BY id LIMIT ?').pluck(),
      count: db.prepare('SELECT count(*) FROM items WHERE doc IS NOT NULL').pluck(),
      changes: db.prepare('SELECT seq, label, id, doc FROM items WHERE (seq, label) > (?, ?) ORDER BY seq, label LIMIT ?'),
      score: db.prepare(`INSERT INTO item_scores (signal, item, score, at, rank) VALUES (@signal, @item, @score, @at, log2(@score) + @at / @h) ${UPSERT_DECAYED('signal, item')}`),
      pair: db.prepare(`INSERT INTO item_pairs (kind, a, b, score, at, rank) VALUES (@kind, @a, @b, @score, @at, log2(@score) + @at / @h) ${UPSERT_DECAYED('kind, a, b')}`),
      savePositions: db.prepare('INSERT INTO signal_positions (id, positions) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET positions = excluded.positions'),
      positions: db.prepare('SELECT positions FROM signal_positions WHERE id = 1').pluck(),
      top: db.prepare('SELECT item, score, at FROM item_scores WHERE signal = ? ORDER BY rank DESC LIMIT ?'),
      neighbors: db.prepare('SELECT b AS item, score, at FROM item_pairs WHERE kind = ? AND a = ? ORDER BY rank DESC LIMIT ?'),
    };
    this.upsertTx = db.transaction((items: readonly Item[]) => {
      // One sequence number per call: a reader that saw it saw the whole call.
      const seq = this.stmts.nextSeq.get() as number;
      for (const item of items) this.stmts.upsert.run(item.id, itemDoc(item), seq);
    });
    this.deleteTx = db.transaction((ids: readonly string[]) => {
      const seq = this.stmts.nextSeq.get() as number;
      let n = 0;
      for (const id of ids) n += this.stmts.remove.run(seq, id).changes;
      return n;
    });
    this.signalsTx = db.transaction((scores: readonly ItemScoreDelta[], pairs: readonly PairDelta[], from: readonly number[] | undefined, positions: readonly number[], h: HalfLives) => {
      const stored = this.stmts.positions.get() as string | undefined;
      if (stored !== (from === undefined ? undefined : JSON.stringify(from))) throw new SignalPositionsMoved();
      for (const s of scores) this.stmts.score.run({ signal: s.signal, item: s.item, score: s.score, at: s.at, h: h[s.signal] });
      for (const p of pairs) this.stmts.pair.run({ kind: p.kind, a: p.a, b: p.b, score: p.score, at: p.at, h: h[p.kind] });
      this.stmts.savePositions.run(JSON.stringify(positions));
    });
  }

  async upsertItems(items: readonly Item[]): Promise<void> {
    if (items.length) this.upsertTx.immediate(items);
  }

  async deleteItems(ids: readonly string[]): Promise<number> {
    return ids.length ? this.deleteTx.immediate(ids) : 0;
  }

  async getItems(ids: readonly string[]): Promise<Map<string, Item>> {
    const out = new Map<string, Item>();
    for (const id of ids) {
      const doc = this.stmts.get.get(id) as string | undefined;
      if (doc !== undefined) out.set(id, fromItemDoc(doc));
    }
    return out;
  }

  async listItems(after: string | undefined, limit: number): Promise<Item[]> {
    return (this.stmts.list.all(after ?? '', limit) as string[]).map(fromItemDoc);
  }

  async countItems(): Promise<number> {
    return this.stmts.count.get() as number;
  }

  async changes(after: ChangeCursor, limit: number): Promise<ItemChange[]> {
    return (this.stmts.changes.all(after.seq, after.label, limit) as { seq: number; label: number; id: string; doc: string | null }[]).map((r) => ({
      seq: r.seq,
      label: r.label,
      id: r.id,
      ...(r.doc !== null ? { item: fromItemDoc(r.doc) } : {}),
    }));
  }

  async applySignals(batch: { scores: readonly ItemScoreDelta[]; pairs: readonly PairDelta[]; from?: readonly number[]; positions: readonly number[] }, halfLives: HalfLives): Promise<void> {
    const scores = sumByKey(batch.scores, (s) => `${s.signal}\u0000${s.item}`, (s) => halfLives[s.signal]);
    const pairs = sumByKey(batch.pairs, (p) => `${p.kind}\u0000${p.a}\u0000${p.b}`, (p) => halfLives[p.kind]);
    this.signalsTx.immediate(scores, pairs, batch.from, batch.positions, halfLives);
  }

  async signalPositions(): Promise<number[] | undefined> {
    const raw = this.stmts.positions.get() as string | undefined;
    return raw === undefined ? undefined : (JSON.parse(raw) as number[]);
  }

  async topItems(signal: ItemSignal, limit: number): Promise<ScoredItem[]> {
    return this.stmts.top.all(signal, limit) as ScoredItem[];
  }

  async neighbors(items: readonly string[], kind: PairKind, limitPerItem: number): Promise<Map<string, ScoredItem[]>> {
    const out = new Map<string, ScoredItem[]>();
    for (const a of new Set(items)) out.set(a, this.stmts.neighbors.all(kind, a, limitPerItem) as ScoredItem[]);
    return out;
  }

  async resetSignals(): Promise<void> {
    this.db.exec('DELETE FROM item_scores; DELETE FROM item_pairs; DELETE FROM signal_positions;');
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
