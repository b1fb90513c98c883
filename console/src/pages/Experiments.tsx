import { useEffect, useState } from 'preact/hooks';
import { api, enc, messageOf } from '../api.js';
import { Bars } from '../components/Bars.js';
import { ErrorText } from '../components/Notice.js';

interface Configured {
  experiment: string;
  placement: string;
  variants: { name: string; weight: number }[];
}
interface Report {
  experiment: string;
  conversion: string;
  control: string;
  variants: { variant: string; people: number; converted: number; rate: number }[];
  tests: { variant: string; lift: number; relativeLift?: number; pValue: number; ci95: [number, number]; significant: boolean }[];
}

const pct = (x: number, digits = 1) => `${(100 * x).toFixed(digits)}%`;
const points = (x: number) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(2)} points`;

/** Conversion by variant of a configured experiment, from the lake, each variant tested against the control. */
export function Experiments() {
  const [list, setList] = useState<Configured[] | undefined>();
  const [name, setName] = useState('');
  const [conversion, setConversion] = useState('Order Completed');
  const [since, setSince] = useState('30d');
  const [report, setReport] = useState<Report | undefined>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');

  useEffect(() => {
    api<{ experiments: Configured[] }>('/v1/experiments')
      .then((r) => {
        setList(r.experiments);
        setName(r.experiments[0]?.experiment ?? '');
      })
      .catch((e: unknown) => setError(messageOf(e)));
  }, []);

  const run = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      setReport(await api<Report>(`/v1/experiments/${enc(name)}/report?conversion=${enc(conversion.trim())}${since ? `&since=${since}` : ''}`));
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="experiments-title">
      <h2 id="experiments-title">Experiments</h2>
      {list && list.length === 0 && (
        <p class="muted">
          No experiment is configured: add one to a placement under <code>personalization.placements.&lt;name&gt;.experiment</code> (docs/personalization.md).
        </p>
      )}
      {list && list.length > 0 && (
        <form class="form-grid" onSubmit={(e) => void run(e)}>
          <label for="experiment">Experiment</label>
          <select id="experiment" value={name} onChange={(e) => setName((e.target as HTMLSelectElement).value)}>
            {list.map((x) => (
              <option key={x.experiment} value={x.experiment}>
                {x.experiment} (placement {x.placement}: {x.variants.map((v) => v.name).join(', ')})
              </option>
            ))}
          </select>
          <label for="conversion">Conversion event</label>
          <input id="conversion" required value={conversion} onInput={(e) => setConversion((e.target as HTMLInputElement).value)} />
          <label for="exposed-since">Exposed since</label>
          <select id="exposed-since" value={since} onChange={(e) => setSince((e.target as HTMLSelectElement).value)}>
            <option value="7d">7 days ago</option>
            <option value="30d">30 days ago</option>
            <option value="90d">90 days ago</option>
            <option value="">the start</option>
          </select>
          <span />
          <button type="submit" disabled={busy || !conversion.trim()}>
            {busy ? 'Working…' : 'Show results'}
          </button>
        </form>
      )}
      <ErrorText text={error} />
      {report && (
        <div>
          {!report.variants.some((v) => v.people > 0) && <p class="muted">No exposure in the lake yet: decisions append them to the log, and the lake holds what has been offloaded.</p>}
          <Bars
            title={`${report.experiment}: share converting (${report.conversion}) after their first exposure`}
            bars={report.variants.map((v) => ({ label: v.variant === report.control ? `${v.variant} (control)` : v.variant, value: v.rate, text: `${pct(v.rate)} (${v.converted} of ${v.people})` }))}
          />
          {report.tests.length > 0 && (
            <div class="scroll">
              <table>
                <caption>Against the control ({report.control}), two-proportion z-test</caption>
                <thead>
                  <tr>
                    <th scope="col">Variant</th>
                    <th scope="col">Lift</th>
                    <th scope="col">95% interval</th>
                    <th scope="col">p-value</th>
                    <th scope="col">Verdict</th>
                  </tr>
                </thead>
                <tbody>
                  {report.tests.map((t) => (
                    <tr key={t.variant}>
                      <td>{t.variant}</td>
                      <td>
                        {points(t.lift)}
                        {t.relativeLift !== undefined ? ` (${t.relativeLift >= 0 ? '+' : ''}${pct(t.relativeLift)})` : ''}
                      </td>
                      <td>
                        [{pct(t.ci95[0], 2)}, {pct(t.ci95[1], 2)}]
                      </td>
                      <td>{t.pValue < 0.0001 ? t.pValue.toExponential(1) : t.pValue.toFixed(4)}</td>
                      <td class={t.significant ? 'status-pass' : ''}>{t.significant ? 'significant at 95%' : 'not significant'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </div>
      )}
    </section>
  );
}
