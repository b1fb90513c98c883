import type pg from 'pg';
import { ERASED_SUBJECT, link, type ChainedRecord, type ConsentRecord } from '../../core/hash-chain.js';
import type { ConsentLog } from '../../ports/consent-log.js';
import { toChained, type ConsentRow } from '../consent-rows.js';
import { openMigratedPool } from './pool.js';
import { withTransaction } from './transaction.js';

/** One chain for every collector: appends take a transaction-level advisory lock, so they extend the head one at a time. */
export class PostgresConsentLog implements ConsentLog {
  private constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
  ) {}

  static async open(opts: { url: string; schema: string }): Promise<PostgresConsentLog> {
    return new PostgresConsentLog(await openMigratedPool(opts, 'mosaic-consent'), opts.schema);
  }

  async append(records: readonly ConsentRecord[]): Promise<ChainedRecord[]> {
    if (!records.length) return [];
    const client = await this.pool.connect();
    try {
      return await withTransaction(client, async () => {
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`mosaic-consent:${this.schema}`]);
        const known = new Set((await client.query<{ message_id: string }>('SELECT message_id FROM consent_log WHERE message_id = ANY($1::text[])', [records.map((r) => r.messageId)])).rows.map((r) => r.message_id));
        const fresh = records.filter((r) => !known.has(r.messageId) && (known.add(r.messageId), true));
        const { rows } = await client.query<{ seq: string; hash: string }>('SELECT seq, hash FROM consent_log ORDER BY seq DESC LIMIT 1');
        const chained = link(rows[0] ? { seq: Number(rows[0].seq), hash: rows[0].hash } : undefined, fresh);
        for (const c of chained) {
          await client.query('INSERT INTO consent_log (seq, at, subject, purposes, source, message_id, prev_hash, hash, commitment, salt) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)', [c.seq, c.at, c.subject, JSON.stringify(c.purposes), c.source, c.messageId, c.prevHash, c.hash, c.commitment, c.salt]);
        }
        return chained;
      });
    } finally {
      client.release();
    }
  }

  async read(afterSeq: number, limit: number): Promise<ChainedRecord[]> {
    return (await this.pool.query<ConsentRow>('SELECT * FROM consent_log WHERE seq > $1 ORDER BY seq LIMIT $2', [afterSeq, limit])).rows.map(toChained);
  }

  async redact(subjects: readonly string[]): Promise<number> {
    const { rowCount } = await this.pool.query('UPDATE consent_log SET subject = $1, salt = NULL WHERE subject = ANY($2::text[])', [ERASED_SUBJECT, subjects]);
    return rowCount ?? 0;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
