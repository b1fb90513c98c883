import { join } from 'node:path';
import type { JobRun, JobRuns } from '../../ports/job-runs.js';
import { migrate, openSqlite, type SqliteDb } from './open.js';

const MIGRATIONS = [
  `CREATE TABLE job_runs (id INTEGER PRIMARY KEY, job TEXT NOT NULL, started_at INTEGER NOT NULL, finished_at INTEGER NOT NULL, status TEXT NOT NULL, rows INTEGER, message TEXT);
   CREATE INDEX job_runs_by_job ON job_runs (job, id);`,
];

/** The embedded scheduler's: one process per data directory, so running jobs are known in memory. */
export class SqliteJobRuns implements JobRuns {
  private readonly db: SqliteDb;
  private readonly running = new Set<string>();

  constructor(opts: { dir: string }) {
    this.db = openSqlite(opts.dir === ':memory:' ? ':memory:' : join(opts.dir, 'scheduler.db'), { sync: 'normal', cacheMb: 2 });
    migrate(this.db, MIGRATIONS);
  }

  async exclusive<T>(job: string, fn: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }> {
    if (this.running.has(job)) return { ran: false };
    this.running.add(job);
    try {
      return { ran: true, value: await fn() };
    } finally {
      this.running.delete(job);
    }
  }

  async record(r: JobRun): Promise<void> {
    this.db.prepare('INSERT INTO job_runs (job, started_at, finished_at, status, rows, message) VALUES (?, ?, ?, ?, ?, ?)').run(r.job, r.startedAt, r.finishedAt, r.status, r.rows ?? null, r.message ?? null);
  }

  async history(job: string | undefined, limit: number): Promise<JobRun[]> {
    const rows = this.db
      .prepare('SELECT job, started_at AS startedAt, finished_at AS finishedAt, status, rows, message FROM job_runs WHERE (? IS NULL OR job = ?) ORDER BY id DESC LIMIT ?')
      .all(job ?? null, job ?? null, limit) as (JobRun & { rows: number | null; message: string | null })[];
    return rows.map(({ rows: n, message, ...r }) => ({ ...r, ...(n !== null ? { rows: n } : {}), ...(message !== null ? { message } : {}) }));
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
