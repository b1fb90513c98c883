import pg from 'pg';
import { migrateSchema } from './profile-store.js';

/**
 * A small pool on Mosaic's schema, with its tables created or upgraded first: the CLI and the
 * side stores (schemas, quarantine, expectation runs, consent) may open before any process
 * opened the profile store.
 */
export async function openMigratedPool(opts: { url: string; schema: string }, name: string, max = 4): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: opts.url, max, options: `-c search_path=${opts.schema}`, application_name: name });
  // An idle client's error (the server restarting) must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  try {
    await migrateSchema(pool, opts.schema);
  } catch (err) {
    await pool.end();
    throw err;
  }
  return pool;
}
