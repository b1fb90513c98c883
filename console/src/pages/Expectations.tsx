import { useEffect, useState } from 'preact/hooks';
import { api, messageOf } from '../api.js';
import { ErrorText } from '../components/Notice.js';

interface Result {
  name: string;
  kind: string;
  status: 'pass' | 'fail' | 'error';
  message: string;
}
interface Run {
  suite: string;
  table: string;
  startedAt: number;
  finishedAt: number;
  status: Result['status'];
  results: Result[];
}

/** How many past runs a strip shows. */
const STRIP = 30;
const when = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 16);

/** A run of statuses, oldest first, read out as a count and drawn as coloured squares. */
function Strip({ label, statuses }: { label: string; statuses: { status: Result['status']; at: number }[] }) {
  const counts = (['pass', 'fail', 'error'] as const).map((s) => [s, statuses.filter((x) => x.status === s).length] as const).filter(([, n]) => n);
  return (
    <span class="strip" role="img" aria-label={`${label}, last ${statuses.length} runs: ${counts.map(([s, n]) => `${n} ${s}`).join(', ')}; latest ${statuses[statuses.length - 1]?.status ?? 'none'}`}>
      {statuses.map((s, i) => (
        <span key={i} class={s.status} title={`${when(s.at)}: ${s.status}`} />
      ))}
    </span>
  );
}

/** Expectation suites: the latest run of each with its results, and each expectation's past results as a strip. */
export function Expectations() {
  const [runs, setRuns] = useState<Run[] | undefined>();
  const [error, setError] = useState('');

  useEffect(() => {
    api<{ runs: Run[] }>('/v1/quality/expectations?limit=500')
      .then((r) => setRuns(r.runs))
      .catch((e: unknown) => setError(messageOf(e)));
  }, []);

  const suites = new Map<string, Run[]>();
  for (const r of runs ?? []) suites.set(r.suite, [...(suites.get(r.suite) ?? []), r]);

  return (
    <section aria-labelledby="expectations-title">
      <h2 id="expectations-title">Expectations</h2>
      <ErrorText text={error} />
      {runs && runs.length === 0 && (
        <p class="muted">
          No expectation run is recorded yet: declare suites under <code>quality.expectations</code> and run <code>mosaic expectations run</code>, or schedule them (docs/quality.md).
        </p>
      )}
      {[...suites].map(([suite, list]) => {
        const latest = list[0]!;
        const past = list.slice(0, STRIP).reverse();
        const passed = latest.results.filter((x) => x.status === 'pass').length;
        return (
          <article key={suite} class="card" aria-labelledby={`suite-${suite}`}>
            <h3 id={`suite-${suite}`}>
              {suite} <span class="muted">on {latest.table}</span>
            </h3>
            <p>
              <span class={`status-${latest.status}`}>{latest.status}</span> · {passed} of {latest.results.length} passed · <time dateTime={new Date(latest.finishedAt).toISOString()}>{when(latest.finishedAt)}</time>
            </p>
            <Strip label={`Suite ${suite}`} statuses={past.map((r) => ({ status: r.status, at: r.startedAt }))} />
            <div class="scroll">
              <table class="wide">
                <caption class="visually-hidden">Expectations of {suite}, latest run</caption>
                <thead>
                  <tr>
                    <th scope="col">Expectation</th>
                    <th scope="col">Latest</th>
                    <th scope="col">History (oldest first)</th>
                  </tr>
                </thead>
                <tbody>
                  {latest.results.map((x) => (
                    <tr key={x.name}>
                      <td>
                        <code>{x.name}</code>
                      </td>
                      <td>
                        <span class={`status-${x.status}`}>{x.status}</span> {x.message}
                      </td>
                      <td>
                        <Strip label={x.name} statuses={past.flatMap((r) => r.results.filter((y) => y.name === x.name).map((y) => ({ status: y.status, at: r.startedAt })))} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </article>
        );
      })}
    </section>
  );
}
