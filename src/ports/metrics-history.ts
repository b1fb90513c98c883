import type { MetricPoint } from '../core/metrics-summary.js';

/** A point of the pipeline's history: when, and the figures of the interval ending then. */
export interface HistoryPoint {
  at: number;
  values: MetricPoint;
}

/**
 * Mosaic's own metrics over time, kept so the console can chart the last hour or day without
 * an external Prometheus (the /metrics endpoint stays for those who have one). Small: one
 * point per sampling interval, pruned by age.
 */
export interface MetricsHistory {
  append(point: HistoryPoint): Promise<void>;
  /** Points at or after `fromMs`, oldest first, at most `limit` (the newest ones when more). */
  since(fromMs: number, limit: number): Promise<HistoryPoint[]>;
  /** Removes the points before `beforeMs`; resolves with how many went. */
  prune(beforeMs: number): Promise<number>;
  close(): Promise<void>;
}
