import { join } from 'node:path';
import { SqliteEventLog } from '../../src/adapters/sqlite/event-log.js';
import { Offloader } from '../../src/lake/offload.js';
import { appendEnvelopes } from '../../src/process/emit.js';
import { tempDir } from '../helpers.js';

/** A lake holding exactly these envelopes (JSON), in a fresh data directory (`dir`; the lake is `dir`/lake). */
export async function plantLake(envelopes: readonly string[]): Promise<{ dir: string; lakeDir: string; cleanup: () => void }> {
  const t = tempDir();
  const log = new SqliteEventLog({ dir: t.dir, partitions: 2, sync: 'normal', dedupWindowMs: 1e12, maxPendingEvents: 1e7 });
  await appendEnvelopes(log, envelopes);
  const lakeDir = join(t.dir, 'lake');
  await new Offloader(log, { lakeDir, chunkEvents: 100_000 }).run();
  await log.close();
  return { ...t, lakeDir };
}
