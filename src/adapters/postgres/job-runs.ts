import pg from 'pg';
import type { JobRun, JobRuns } from '../../ports/job-runs.js';

/**
 * Jobs shared by scheduler processes: a session-level advisory lock per job (taken with try: a
 * scheduler that finds it held skips that firing) and the history in `job_runs` (created by the
 * profile store's migrations, which run when any Mosaic process opens the store).
 */
export class PostgresJobRuns implements JobRuns {
  private readonly pool: pg.Pool;
  private readonly schema: string;

  constructor(opts: { url: string; schema: string }) {
    this.pool = new pg.Pool({ connectionString: opts.url, max: 4, options: `-c search_path=${opts.schema}`, application_name: 'mosaic-scheduler' });
    this.pool.on('error', () => undefined);
    this.schema = opts.schema;
  }

  async exclusive<T>(job: string, fn: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }> {
    const client = await this.pool.connect();
    const key = [`mosaic-job:${this.schema}`, job];
    try {
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1), hashtext($2)) AS ok', key);
      if (!rows[0]!.ok) return { ran: false };
      try {
        return { ran: true, value: await fn() };
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtext($1), hashtext($2))', key);
      }
    } finally {
      client.release();
    }
  }

  async record(r: JobRun): Promise<void> {
    await this.pool.query('INSERT INTO job_runs (job, started_at, finished_at, status, rows, message) VALUES ($1, $2, $3, $4, $5, $6)', [r.job, r.startedAt, r.finishedAt, r.status, r.rows ?? null, r.message ?? null]);
  }

  async history(job: string | undefined, limit: number): Promise<JobRun[]> {
    const { rows } = await this.pool.query<{ job: string; started_at: string; finished_at: string; status: JobRun['status']; rows: string | null; message: string | null }>(
      'SELECT job, started_at, finished_at, status, rows, message FROM job_runs WHERE ($1::text IS NULL OR job = $1) ORDER BY id DESC LIMIT $2',
      [job ?? null, limit],
    );
    return rows.map((r) => ({ job: r.job, startedAt: Number(r.started_at), finishedAt: Number(r.finished_at), status: r.status, ...(r.rows !== null ? { rows: Number(r.rows) } : {}), ...(r.message !== null ? { message: r.message } : {}) }));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
