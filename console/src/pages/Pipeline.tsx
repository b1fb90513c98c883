import { useEffect, useState } from 'preact/hooks';
import { api, messageOf } from '../api.js';
import { Chart, type Series } from '../components/Chart.js';
import { ErrorText } from '../components/Notice.js';

interface History {
  intervalSeconds: number;
  retentionHours: number;
  now: number;
  points: { at: number; values: Record<string, number> }[];
}

const RANGES = [
  { minutes: 60, label: 'Last hour' },
  { minutes: 24 * 60, label: 'Last day' },
] as const;

const COLORS = ['#1f6feb', '#cf222e', '#1a7f37', '#9a6700', '#8250df', '#bf3989', '#0550ae', '#953800'];

const fmt = (v: number | undefined, digits = 1) => (v === undefined ? '–' : v.toLocaleString('en-US', { maximumFractionDigits: digits }));

/** The pipeline over the last hour or day, from Mosaic's own metrics history (refreshed every few seconds). */
export function Pipeline() {
  const [minutes, setMinutes] = useState<number>(60);
  const [history, setHistory] = useState<History | undefined>();
  const [error, setError] = useState('');

  useEffect(() => {
    let stop = false;
    const load = () =>
      api<History>(`/v1/metrics/history?minutes=${minutes}`)
        .then((h) => {
          if (!stop) {
            setHistory(h);
            setError('');
          }
        })
        .catch((e: unknown) => !stop && setError(messageOf(e)));
    void load();
    const timer = setInterval(load, 3000);
    return () => {
      stop = true;
      clearInterval(timer);
    };
  }, [minutes]);

  const points = history?.points ?? [];
  const times = points.map((p) => p.at);
  const col = (key: string) => points.map((p) => p.values[key] ?? null);
  const last = points[points.length - 1]?.values ?? {};
  const reasons = [...new Set(points.flatMap((p) => Object.keys(p.values).filter((k) => k.startsWith('rejected_per_s:'))))].sort();
  const series = (keys: [string, string][]): Series[] => keys.map(([key, label], i) => ({ label, color: COLORS[i % COLORS.length]!, values: col(key) }));

  return (
    <section aria-labelledby="pipeline-title">
      <div class="title-row">
        <h1 id="pipeline-title">Pipeline</h1>
        <div role="group" aria-label="Time range" class="segmented">
          {RANGES.map((r) => (
            <button key={r.minutes} type="button" aria-pressed={minutes === r.minutes} onClick={() => setMinutes(r.minutes)}>
              {r.label}
            </button>
          ))}
        </div>
      </div>
      <ErrorText text={error} />
      <p class="hint">
        {points.length} points, one every {history?.intervalSeconds ?? '…'} s, kept {history?.retentionHours ?? '…'} h. Prometheus can scrape the same figures at <code>/metrics</code>.
      </p>
      <dl class="figures" aria-label="Latest figures">
        <div>
          <dt>Accepted events/s</dt>
          <dd data-figure="accepted">{fmt(last.accepted_per_s)}</dd>
        </div>
        <div>
          <dt>Rejections/s (rules broken)</dt>
          <dd data-figure="rejected">{fmt(last.rejected_per_s)}</dd>
        </div>
        <div>
          <dt>Ingest p99</dt>
          <dd>{fmt(last.ingest_p99_ms, 2)} ms</dd>
        </div>
        <div>
          <dt>Freshness p99</dt>
          <dd>{fmt(last.freshness_p99_ms, 1)} ms</dd>
        </div>
        <div>
          <dt>Processor lag</dt>
          <dd>{fmt(last.processor_lag_events, 0)} events</dd>
        </div>
        <div>
          <dt>Lake copy lag</dt>
          <dd>{fmt(last.offload_lag_events, 0)} events</dd>
        </div>
      </dl>
      <div class="charts">
        <Chart
          title="Events per second"
          unit="events/s"
          times={times}
          series={series([['accepted_per_s', 'accepted'], ...reasons.map((r): [string, string] => [r, `rejected: ${r.slice('rejected_per_s:'.length)}`])])}
          summary={`accepted ${fmt(last.accepted_per_s)}/s, rejected ${fmt(last.rejected_per_s)}/s`}
        />
        <Chart
          title="Latency"
          unit="ms"
          times={times}
          series={series([
            ['ingest_p50_ms', 'ingest p50'],
            ['ingest_p99_ms', 'ingest p99'],
            ['decide_p50_ms', 'decide p50'],
            ['decide_p99_ms', 'decide p99'],
          ])}
          summary={`ingest p50 ${fmt(last.ingest_p50_ms, 2)} ms, p99 ${fmt(last.ingest_p99_ms, 2)} ms; decide p50 ${fmt(last.decide_p50_ms, 2)} ms, p99 ${fmt(last.decide_p99_ms, 2)} ms`}
        />
        <Chart
          title="Event to profile (freshness)"
          unit="ms"
          times={times}
          series={series([
            ['freshness_p50_ms', 'p50'],
            ['freshness_p99_ms', 'p99'],
          ])}
          summary={`p50 ${fmt(last.freshness_p50_ms)} ms, p99 ${fmt(last.freshness_p99_ms)} ms`}
        />
        <Chart
          title="Lag"
          unit="events"
          times={times}
          series={series([
            ['processor_lag_events', 'processor'],
            ['offload_lag_events', 'lake copy'],
          ])}
          summary={`processor ${fmt(last.processor_lag_events, 0)}, lake copy ${fmt(last.offload_lag_events, 0)} events behind`}
        />
      </div>
    </section>
  );
}
