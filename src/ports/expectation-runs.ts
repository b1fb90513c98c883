/** One expectation's outcome in a run. */
export interface ExpectationResult {
  /** e.g. not_null(user_id): stable across runs, the key of its history. */
  name: string;
  /** not_null, unique, accepted_values, in_range, regex, row_count_between, freshness, volume_anomaly, schema_drift, cross_source. */
  kind: string;
  status: 'pass' | 'fail' | 'error';
  message: string;
  observed: Record<string, unknown>;
  /** A few offending values, when there are some. */
  examples?: unknown[];
}

/** One run of a suite of expectations. */
export interface SuiteRun {
  suite: string;
  table: string;
  startedAt: number;
  finishedAt: number;
  status: 'pass' | 'fail' | 'error';
  results: ExpectationResult[];
}

/** Where expectation runs are kept: their history, the report and the metrics read them. */
export interface ExpectationRuns {
  record(run: SuiteRun): Promise<void>;
  /** Newest first; every suite when `suite` is undefined. */
  history(suite: string | undefined, limit: number): Promise<SuiteRun[]>;
  /** The newest run of each suite. */
  latest(): Promise<SuiteRun[]>;
  close(): Promise<void>;
}
