import { after } from 'node:test';
import { SqliteEventLog } from '../../src/adapters/sqlite/event-log.js';
import { eventLogConformance } from '../conformance/event-log.suite.js';
import { tempDir } from '../helpers.js';

const dirs: (() => void)[] = [];
after(() => dirs.forEach((c) => c()));
const opened = new Map<SqliteEventLog, { dir: string; partitions: number; dedupWindowMs: number }>();

eventLogConformance(
  'sqlite',
  async ({ partitions, dedupWindowMs, now }) => {
    const { dir, cleanup } = tempDir();
    dirs.push(cleanup);
    const log = new SqliteEventLog({ dir, partitions, dedupWindowMs, sync: 'normal', maxPendingEvents: 10_000, ...(now ? { now } : {}) });
    opened.set(log, { dir, partitions, dedupWindowMs });
    return log;
  },
  async (log) => {
    const o = opened.get(log as SqliteEventLog)!;
    await log.close();
    return new SqliteEventLog({ dir: o.dir, partitions: 99, dedupWindowMs: o.dedupWindowMs, sync: 'normal', maxPendingEvents: 10_000 });
  },
);
