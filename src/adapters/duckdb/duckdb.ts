import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

/**
 * For the lake's jobs inside `mosaic up` (offload, snapshot): one thread and half a gigabyte,
 * spilling beyond it, so a copy leaves the collector and processor their cores and memory.
 * Together with smaller offload steps, this took the server's peak RSS during a copy from
 * 3.4 GB to about 1.5 GB (measured; see docs/lake.md).
 */
export const BACKGROUND_DUCKDB = { memoryLimit: '512MB', threads: 1 } as const;

/**
 * An in-memory DuckDB for the lake: Mosaic keeps no DuckDB database file, only Parquet files
 * that any engine reads. Bounded memory and threads: it runs beside the collector and processor.
 */
export async function openDuckDb(opts: { memoryLimit?: string; threads?: number; tempDirectory?: string } = {}): Promise<{ connection: DuckDBConnection; close: () => void }> {
  const instance = await DuckDBInstance.create(':memory:', {
    memory_limit: opts.memoryLimit ?? '1GB',
    threads: String(opts.threads ?? 2),
    // Extensions are never downloaded at run time (the machines Mosaic runs on may not reach the
    // internet); parquet and json are built in.
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
    // Where a table larger than the memory limit spills (none: it cannot).
    ...(opts.tempDirectory ? { temp_directory: opts.tempDirectory } : {}),
  });
  const connection = await instance.connect();
  return {
    connection,
    close: () => {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

// Kept apart so that modules building SQL text do not load DuckDB's native addon.
export { sqlString } from './sql-literal.js';
