/**
 * The console's pipeline figures from two readings of the Prometheus registry: rates from
 * counters' differences, percentiles from histograms' bucket differences, gauges as read. Pure:
 * the sampler (observe/metrics-history.ts) reads, this works out, a store keeps the result.
 */

/** One metric as prom-client's getMetricsAsJSON gives it (the part read here). */
export interface MetricReading {
  name: string;
  values: { value: number; labels: Record<string, string | number | undefined>; metricName?: string }[];
}

/** A point of the history: flat name → value (NaN-free: a figure without data is left out). */
export type MetricPoint = Record<string, number>;

/** Cumulative bucket counts by upper bound, summed over the series a filter keeps. */
export function bucketsOf(readings: readonly MetricReading[], name: string, keep: (labels: Record<string, string | number | undefined>) => boolean = () => true): Map<number, number> {
  const out = new Map<number, number>();
  const m = readings.find((r) => r.name === name);
  for (const v of m?.values ?? []) {
    if (v.metricName !== undefined && !v.metricName.endsWith('_bucket')) continue;
    const le = v.labels.le;
    if (le === undefined || !keep(v.labels)) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    out.set(bound, (out.get(bound) ?? 0) + v.value);
  }
  return out;
}

/**
 * The q-quantile of what a histogram saw between two readings of its cumulative buckets,
 * interpolated within the bucket it falls in (as Prometheus's histogram_quantile does). NaN when
 * nothing was observed; the highest finite bound when it falls in +Inf.
 */
export function quantileBetween(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>, q: number): number {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((b) => (after.get(b) ?? 0) - (before.get(b) ?? 0));
  const total = counts[counts.length - 1] ?? 0;
  if (!(total > 0)) return NaN;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (let i = 0; i < bounds.length; i++) {
    if (counts[i]! >= rank) {
      const b = bounds[i]!;
      if (b === Infinity) return prevBound;
      return prevBound + ((b - prevBound) * (rank - prevCount)) / Math.max(1, counts[i]! - prevCount);
    }
    prevBound = bounds[i]!;
    prevCount = counts[i]!;
  }
  return prevBound;
}

/** A counter's series summed, or by one label. */
function counterBy(readings: readonly MetricReading[], name: string, label?: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const v of readings.find((r) => r.name === name)?.values ?? []) {
    const key = label === undefined ? '' : String(v.labels[label] ?? '');
    out.set(key, (out.get(key) ?? 0) + v.value);
  }
  return out;
}

function gauge(readings: readonly MetricReading[], name: string): number | undefined {
  const values = readings.find((r) => r.name === name)?.values ?? [];
  return values.length ? values.reduce((a, v) => a + v.value, 0) : undefined;
}

/**
 * The figures the console charts, for the interval between two readings `seconds` apart:
 * - `accepted_per_s`, `rejected_per_s` and `rejected_per_s:<reason>` (validation rules broken);
 * - `ingest_p50_ms`/`ingest_p99_ms` (over `ingestRoutes`, the collector's), `decide_p50_ms`/`decide_p99_ms`;
 * - `freshness_p50_ms`/`freshness_p99_ms` (event to profile);
 * - `processor_lag_events`, `processor_lag_seconds`, `offload_lag_events` (as read at the end).
 * A counter that went down (a restart) counts from zero.
 */
export function summarize(before: readonly MetricReading[], after: readonly MetricReading[], seconds: number, ingestRoutes: ReadonlySet<string>): MetricPoint {
  const out: MetricPoint = {};
  const set = (k: string, v: number | undefined) => {
    if (v !== undefined && Number.isFinite(v)) out[k] = Math.round(v * 1000) / 1000;
  };
  const rate = (name: string, label?: string) => {
    const a = counterBy(before, name, label);
    const b = counterBy(after, name, label);
    const rates = new Map<string, number>();
    for (const [k, v] of b) rates.set(k, (v >= (a.get(k) ?? 0) ? v - (a.get(k) ?? 0) : v) / seconds);
    return rates;
  };
  set('accepted_per_s', [...rate('mosaic_events_accepted_total').values()].reduce((x, y) => x + y, 0));
  let rejected = 0;
  for (const [reason, r] of rate('mosaic_events_rejected_total', 'reason')) {
    rejected += r;
    if (r > 0) set(`rejected_per_s:${reason}`, r);
  }
  set('rejected_per_s', rejected);
  const ms = (name: string, q: number, keep?: (l: Record<string, string | number | undefined>) => boolean) => quantileBetween(bucketsOf(before, name, keep), bucketsOf(after, name, keep), q) * 1000;
  const ingest = (l: Record<string, string | number | undefined>) => ingestRoutes.has(String(l.route));
  set('ingest_p50_ms', ms('mosaic_http_request_duration_seconds', 0.5, ingest));
  set('ingest_p99_ms', ms('mosaic_http_request_duration_seconds', 0.99, ingest));
  set('decide_p50_ms', ms('mosaic_decide_seconds', 0.5));
  set('decide_p99_ms', ms('mosaic_decide_seconds', 0.99));
  set('freshness_p50_ms', ms('mosaic_event_to_profile_seconds', 0.5));
  set('freshness_p99_ms', ms('mosaic_event_to_profile_seconds', 0.99));
  set('processor_lag_events', gauge(after, 'mosaic_processor_lag_events'));
  set('processor_lag_seconds', gauge(after, 'mosaic_processor_lag_seconds'));
  set('offload_lag_events', gauge(after, 'mosaic_lake_offload_lag_events'));
  return out;
}
