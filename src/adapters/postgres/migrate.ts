import type pg from 'pg';
import { withTransaction } from './transaction.js';

/** One version's DDL; versions are their index + 1 and are never edited once released. */
export type Migration = string;

/**
 * Creates `schema` if needed and applies the migrations it has not seen, each in its own
 * transaction, under a transaction-level advisory lock: processes starting together wait for
 * the first one instead of racing it.
 */
export async function migrate(pool: pg.Pool, schema: string, migrations: readonly Migration[]): Promise<void> {
  const client = await pool.connect();
  try {
    for (;;) {
      const done = await withTransaction(client, async () => {
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`mosaic-migrate:${schema}`]);
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
        await client.query(`CREATE TABLE IF NOT EXISTS ${schema}.schema_version (version integer NOT NULL)`);
        const { rows } = await client.query<{ version: number }>(`SELECT version FROM ${schema}.schema_version`);
        const current = rows[0]?.version ?? 0;
        if (current >= migrations.length) return true;
        await client.query(`SET LOCAL search_path = ${schema}`);
        await client.query(migrations[current]!);
        if (rows.length === 0) await client.query(`INSERT INTO ${schema}.schema_version (version) VALUES (1)`);
        else await client.query(`UPDATE ${schema}.schema_version SET version = $1`, [current + 1]);
        return false;
      });
      if (done) return;
    }
  } finally {
    client.release();
  }
}
