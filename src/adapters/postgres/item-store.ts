import type pg from 'pg';
import type { Item } from '../../core/items.js';
import { SignalPositionsMoved, type ChangeCursor, type HalfLives, type ItemChange, type ItemSignal, type ItemScoreDelta, type ItemStore, type PairDelta, type PairKind, type ScoredItem } from '../../ports/item-store.js';
import { fromItemDoc, itemDoc, sumByKey } from '../item-rows.js';
import { openMigratedPool } from './pool.js';
import { withTransaction } from './transaction.js';

// Decayed addition (core/decay.ts) in SQL: every SET expression reads the row's old values.
const UPSERT_DECAYED = (table: string, keys: string) => `
  ON CONFLICT (${keys}) DO UPDATE SET
    score = ${table}.score * power(2, (${table}.at - greatest(${table}.at, excluded.at))::float8 / $h) + excluded.score * power(2, (excluded.at - greatest(${table}.at, excluded.at))::float8 / $h),
    at = greatest(${table}.at, excluded.at),
    rank = ln(${table}.score * power(2, (${table}.at - greatest(${table}.at, excluded.at))::float8 / $h) + excluded.score * power(2, (excluded.at - greatest(${table}.at, excluded.at))::float8 / $h)) / ln(2) + greatest(${table}.at, excluded.at)::float8 / $h`;

/** The catalog and item signals in PostgreSQL, shared by every process on the store. */
export class PostgresItemStore implements ItemStore {
  private constructor(private readonly pool: pg.Pool) {}

  static async open(opts: { url: string; schema: string }): Promise<PostgresItemStore> {
    return new PostgresItemStore(await openMigratedPool(opts, 'mosaic-items'));
  }

  /** Catalog writes take the table's write lock: sequence numbers then commit in order, and a reader following `changes` misses none. */
  private async write<T>(fn: (c: pg.PoolClient, seq: number) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      return await withTransaction(client, async () => {
        await client.query('LOCK TABLE items IN SHARE ROW EXCLUSIVE MODE');
        const { rows } = await client.query<{ seq: string }>('SELECT coalesce(max(seq), 0) + 1 AS seq FROM items');
        return fn(client, Number(rows[0]!.seq));
      });
    } finally {
      client.release();
    }
  }

  async upsertItems(items: readonly Item[]): Promise<void> {
    if (!items.length) return;
    // The last of an id wins, as in a loop of single upserts.
    const byId = new Map(items.map((i) => [i.id, i]));
    await this.write((c, seq) =>
      c.query('INSERT INTO items (id, doc, seq) SELECT id, doc, $3 FROM unnest($1::text[], $2::text[]) AS t(id, doc) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, seq = excluded.seq', [
        [...byId.keys()],
        [...byId.values()].map(itemDoc),
        seq,
      ]),
    );
  }

  async deleteItems(ids: readonly string[]): Promise<number> {
    if (!ids.length) return 0;
    return this.write(async (c, seq) => (await c.query('UPDATE items SET doc = NULL, seq = $2 WHERE id = ANY($1::text[]) AND doc IS NOT NULL', [[...new Set(ids)], seq])).rowCount ?? 0);
  }

  async getItems(ids: readonly string[]): Promise<Map<string, Item>> {
    if (!ids.length) return new Map();
    const { rows } = await this.pool.query<{ id: string; doc: string }>('SELECT id, doc FROM items WHERE id = ANY($1::text[]) AND doc IS NOT NULL', [[...new Set(ids)]]);
    return new Map(rows.map((r) => [r.id, fromItemDoc(r.doc)]));
  }

  async listItems(after: string | undefined, limit: number): Promise<Item[]> {
    const { rows } = await this.pool.query<{ doc: string }>('SELECT doc FROM items WHERE doc IS NOT NULL AND id COLLATE "C" > $1 ORDER BY id COLLATE "C" LIMIT $2', [after ?? '', limit]);
    return rows.map((r) => fromItemDoc(r.doc));
  }

  async countItems(): Promise<number> {
    const { rows } = await this.pool.query<{ n: string }>('SELECT count(*) AS n FROM items WHERE doc IS NOT NULL');
    return Number(rows[0]!.n);
  }

  async changes(after: ChangeCursor, limit: number): Promise<ItemChange[]> {
    const { rows } = await this.pool.query<{ seq: string; label: string; id: string; doc: string | null }>('SELECT seq, label, id, doc FROM items WHERE (seq, label) > ($1, $2) ORDER BY seq, label LIMIT $3', [after.seq, after.label, limit]);
    return rows.map((r) => ({ seq: Number(r.seq), label: Number(r.label), id: r.id, ...(r.doc !== null ? { item: fromItemDoc(r.doc) } : {}) }));
  }

  async applySignals(batch: { scores: readonly ItemScoreDelta[]; pairs: readonly PairDelta[]; from?: readonly number[]; positions: readonly number[] }, halfLives: HalfLives): Promise<void> {
    // Rows in key order: two writers updating overlapping rows in different orders could deadlock.
    const scores = sumByKey(batch.scores, (s) => `${s.signal}\u0000${s.item}`, (s) => halfLives[s.signal]).sort((x, y) => (x.signal + x.item < y.signal + y.item ? -1 : 1));
    const pairs = sumByKey(batch.pairs, (p) => `${p.kind}\u0000${p.a}\u0000${p.b}`, (p) => halfLives[p.kind]).sort((x, y) => (`${x.kind}\u0000${x.a}\u0000${x.b}` < `${y.kind}\u0000${y.a}\u0000${y.b}` ? -1 : 1));
    const client = await this.pool.connect();
    try {
      await withTransaction(client, async () => {
        // The positions row first, locked: a second builder waits here, then finds it moved.
        const { rows: held } = await client.query<{ positions: string }>('SELECT positions FROM signal_positions WHERE id = 1 FOR UPDATE');
        if ((held[0]?.positions ?? undefined) !== (batch.from === undefined ? undefined : JSON.stringify(batch.from))) throw new SignalPositionsMoved();
        for (const signal of new Set(scores.map((s) => s.signal))) {
          const rows = scores.filter((s) => s.signal === signal);
          await client.query(
            `INSERT INTO item_scores (signal, item, score, at, rank)
             SELECT $1, item, score, at, ln(score) / ln(2) + at::float8 / $5 FROM unnest($2::text[], $3::float8[], $4::bigint[]) AS t(item, score, at)
             ${UPSERT_DECAYED('item_scores', 'signal, item').replaceAll('$h', '$5')}`,
            [signal, rows.map((r) => r.item), rows.map((r) => r.score), rows.map((r) => Math.round(r.at)), halfLives[signal]],
          );
        }
        for (const kind of new Set(pairs.map((p) => p.kind))) {
          const rows = pairs.filter((p) => p.kind === kind);
          await client.query(
            `INSERT INTO item_pairs (kind, a, b, score, at, rank)
             SELECT $1, a, b, score, at, ln(score) / ln(2) + at::float8 / $6 FROM unnest($2::text[], $3::text[], $4::float8[], $5::bigint[]) AS t(a, b, score, at)
             ${UPSERT_DECAYED('item_pairs', 'kind, a, b').replaceAll('$h', '$6')}`,
            [kind, rows.map((r) => r.a), rows.map((r) => r.b), rows.map((r) => r.score), rows.map((r) => Math.round(r.at)), halfLives[kind]],
          );
        }
        await client.query('INSERT INTO signal_positions (id, positions) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET positions = excluded.positions', [JSON.stringify(batch.positions)]);
      });
    } finally {
      client.release();
    }
  }

  async signalPositions(): Promise<number[] | undefined> {
    const { rows } = await this.pool.query<{ positions: string }>('SELECT positions FROM signal_positions WHERE id = 1');
    return rows[0] ? (JSON.parse(rows[0].positions) as number[]) : undefined;
  }

  async topItems(signal: ItemSignal, limit: number): Promise<ScoredItem[]> {
    const { rows } = await this.pool.query<{ item: string; score: number; at: string }>('SELECT item, score, at FROM item_scores WHERE signal = $1 ORDER BY rank DESC LIMIT $2', [signal, limit]);
    return rows.map((r) => ({ item: r.item, score: r.score, at: Number(r.at) }));
  }

  async neighbors(items: readonly string[], kind: PairKind, limitPerItem: number): Promise<Map<string, ScoredItem[]>> {
    const unique = [...new Set(items)];
    const out = new Map<string, ScoredItem[]>(unique.map((a) => [a, []]));
    if (!unique.length) return out;
    const { rows } = await this.pool.query<{ a: string; item: string; score: number; at: string }>(
      `SELECT x.a, p.b AS item, p.score, p.at FROM unnest($1::text[]) AS x(a)
       CROSS JOIN LATERAL (SELECT b, score, at FROM item_pairs WHERE kind = $2 AND a = x.a ORDER BY rank DESC LIMIT $3) p`,
      [unique, kind, limitPerItem],
    );
    for (const r of rows) out.get(r.a)!.push({ item: r.item, score: r.score, at: Number(r.at) });
    return out;
  }

  async resetSignals(): Promise<void> {
    await this.pool.query('TRUNCATE item_scores, item_pairs, signal_positions');
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
