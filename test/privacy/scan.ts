import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openDuckDb, sqlString } from '../../src/adapters/duckdb/duckdb.js';

/**
 * Where each needle is found: every file under `dir` as bytes (SQLite does not compress), and
 * every Parquet file read back through DuckDB (its pages are compressed, so bytes would hide it).
 */
export async function scanFiles(dir: string, needles: readonly string[]): Promise<string[]> {
  const hits: string[] = [];
  const parquet: string[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const path = join(d, f);
      if (statSync(path).isDirectory()) walk(path);
      else if (path.endsWith('.parquet')) parquet.push(path);
      else {
        const bytes = readFileSync(path).toString('latin1');
        for (const v of needles) if (bytes.includes(v)) hits.push(`${path}: ${v}`);
      }
    }
  };
  walk(dir);
  if (parquet.length) {
    const duck = await openDuckDb();
    try {
      for (const file of parquet) {
        const text = JSON.stringify((await duck.connection.runAndReadAll(`SELECT * FROM read_parquet(${sqlString(file)})`)).getRowObjectsJson());
        for (const v of needles) if (text.includes(v)) hits.push(`${file}: ${v}`);
      }
    } finally {
      duck.close();
    }
  }
  return hits;
}
