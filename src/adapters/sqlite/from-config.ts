import type { Config } from '../../config.js';
import type { SqliteEventLogOptions } from './event-log.js';

/** The embedded log's options as the configuration sets them, for every process that opens it. */
export function sqliteLogOptions(config: Config, extra: Partial<SqliteEventLogOptions> = {}): SqliteEventLogOptions {
  return {
    dir: config.dataDir,
    partitions: config.log.partitions,
    sync: config.log.sync,
    dedupWindowMs: config.log.dedupWindowHours * 3_600_000,
    maxPendingEvents: config.log.maxPendingEvents,
    ...extra,
  };
}
