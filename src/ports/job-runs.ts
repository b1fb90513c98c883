/** A scheduled job's run, as its history keeps it. */
export interface JobRun {
  job: string;
  startedAt: number;
  finishedAt: number;
  status: 'succeeded' | 'failed';
  /** Rows the job read or wrote, where it has such a count. */
  rows?: number;
  message?: string;
}

/**
 * Where schedulers agree who runs a job and keep its history. Several scheduler processes may
 * fire the same job at the same time: `exclusive` runs it in at most one of them.
 */
export interface JobRuns {
  /** Runs `fn` unless this job is running now (here or in another scheduler): then resolves with { ran: false }. */
  exclusive<T>(job: string, fn: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }>;
  record(run: JobRun): Promise<void>;
  /** Newest first; all jobs when `job` is undefined. */
  history(job: string | undefined, limit: number): Promise<JobRun[]>;
  close(): Promise<void>;
}
