import type { Logger } from 'pino';
import { summarize, type MetricReading } from '../core/metrics-summary.js';
import type { MetricsHistory } from '../ports/metrics-history.js';
import { INGEST_ROUTES } from '../collect/collector.js';

/**
 * Reads the registry every interval and keeps the interval's figures (core/metrics-summary) in
 * the history, pruning what is older than the retention. The first reading only sets the
 * baseline: a point needs two.
 */
export class MetricsSampler {
  private last: { at: number; readings: MetricReading[] } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sampling = false;

  constructor(
    private readonly read: () => Promise<MetricReading[]>,
    private readonly history: MetricsHistory,
    private readonly opts: { intervalMs: number; retentionMs: number; logger?: Logger; now?: () => number },
  ) {}

  /** Takes a reading now; appends the point since the previous one. Resolves with it (undefined for the first). */
  async sample(): Promise<Record<string, number> | undefined> {
    if (this.sampling) return undefined;
    this.sampling = true;
    try {
      const at = this.opts.now?.() ?? Date.now();
      // A copy: prom-client hands out its live value objects, which later increments change.
      const readings = structuredClone(await this.read());
      const prev = this.last;
      this.last = { at, readings };
      if (!prev || at <= prev.at) return undefined;
      const values = summarize(prev.readings, readings, (at - prev.at) / 1000, INGEST_ROUTES);
      await this.history.append({ at, values });
      await this.history.prune(at - this.opts.retentionMs);
      return values;
    } finally {
      this.sampling = false;
    }
  }

  start(): void {
    if (this.timer) return;
    void this.sample().catch(() => undefined);
    this.timer = setInterval(() => void this.sample().catch((err: unknown) => this.opts.logger?.warn({ err }, 'metrics history: could not sample')), this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
