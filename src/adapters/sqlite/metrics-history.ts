import { join } from 'node:path';
import type { HistoryPoint, MetricsHistory } from '../../ports/metrics-history.js';
import { migrate, openSqlite, type SqliteDb } from './open.js';

const MIGRATIONS = [`CREATE TABLE points (at INTEGER PRIMARY KEY, doc TEXT NOT NULL);`];

/** The embedded history: `metrics.db` in the data directory, one process's own figures. */
export class SqliteMetricsHistory implements MetricsHistory {
  private readonly db: SqliteDb;

  constructor(opts: { dir: string }) {
    this.db = openSqlite(opts.dir === ':memory:' ? ':memory:' : join(opts.dir, 'metrics.db'), { sync: 'normal', cacheMb: 2 });
    migrate(this.db, MIGRATIONS);
  }

  async append(p: HistoryPoint): Promise<void> {
    // Two points in one millisecond (a test sampling by hand): the later one stands.
    this.db.prepare('INSERT OR REPLACE INTO points (at, doc) VALUES (?, ?)').run(p.at, JSON.stringify(p.values));
  }

  async since(fromMs: number, limit: number): Promise<HistoryPoint[]> {
    const rows = this.db.prepare('SELECT at, doc FROM points WHERE at >= ? ORDER BY at DESC LIMIT ?').raw().all(fromMs, limit) as [number, string][];
    return rows.reverse().map(([at, doc]) => ({ at, values: JSON.parse(doc) as HistoryPoint['values'] }));
  }

  async prune(beforeMs: number): Promise<number> {
    return this.db.prepare('DELETE FROM points WHERE at < ?').run(beforeMs).changes;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
