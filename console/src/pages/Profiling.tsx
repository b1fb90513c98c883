import { useState } from 'preact/hooks';
import { api, enc, messageOf } from '../api.js';
import { Bars } from '../components/Bars.js';
import { ErrorText } from '../components/Notice.js';

interface ColumnProfile {
  column: string;
  type: string;
  nullRate: number;
  distinct: number;
  numeric?: { min: number; max: number; mean: number; quantiles: { p50: number } };
  top: { value: string; count: number }[];
  histogram?: { from: number; to: number; count: number }[];
}
interface ColumnDrift {
  column: string;
  kind: 'numeric' | 'categorical';
  psi: number;
  level: 'stable' | 'moderate' | 'significant';
  baselineRows: number;
  currentRows: number;
  bins: { bin: string; baseline: number; current: number }[];
}
type Answer = { kind: 'profile'; rows: number; columns: ColumnProfile[] } | { kind: 'drift'; columns: ColumnDrift[] };

/** Lake tables with a time column (the others are profiled whole). */
const TIMED = new Set(['events', 'fact_events']);
const TABLES = ['events', 'fact_events', 'profiles', 'identities', 'sessions', 'audience_memberships', 'dim_users'];
const PERIODS = [
  { value: '1d', label: 'last day' },
  { value: '7d', label: 'last 7 days' },
  { value: '30d', label: 'last 30 days' },
  { value: '', label: 'everything' },
];
const num = (v: number) => (Math.abs(v) >= 1e6 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : String(Math.round(v * 1000) / 1000));
const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
const TONE = { stable: 'ok', moderate: 'warn', significant: 'bad' } as const;

/** Profile a lake table, or compare a period with the one before it (drift, PSI): charts and the figures beside them. */
export function Profiling() {
  const [table, setTable] = useState('events');
  const [period, setPeriod] = useState('7d');
  const [compare, setCompare] = useState(false);
  const [columns, setColumns] = useState('');
  const [answer, setAnswer] = useState<Answer | undefined>();
  const [chosen, setChosen] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');

  const timed = TIMED.has(table);
  const drift = compare && timed && period !== '';
  const run = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    const q = new URLSearchParams();
    if (timed && period) {
      q.set('since', period);
      if (drift) {
        // The period before, of the same length: 7d against 14d–7d.
        const n = Number.parseInt(period, 10);
        q.set('baselineSince', `${2 * n}${period.slice(-1)}`);
        q.set('baselineUntil', period);
      }
    }
    if (columns.trim()) q.set('columns', columns.trim());
    try {
      const a = await api<Answer>(`/v1/quality/profile/${enc(table)}?${q.toString()}`);
      setAnswer(a);
      const first = a.kind === 'drift' ? a.columns[0]?.column : a.columns.find((c) => c.histogram)?.column;
      setChosen(first ?? '');
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="profiling-title">
      <h2 id="profiling-title">Profiling and drift</h2>
      <p class="hint">Reads the lake (what has been offloaded). Drift compares the period with the one before it, as the Population Stability Index: under 0.1 stable, up to 0.25 moderate, above significant.</p>
      <form class="toolbar" onSubmit={(e) => void run(e)}>
        <label for="profile-table">Table</label>
        <select id="profile-table" value={table} onChange={(e) => setTable((e.target as HTMLSelectElement).value)}>
          {TABLES.map((t) => (
            <option key={t}>{t}</option>
          ))}
        </select>
        <label for="profile-period">Period</label>
        <select id="profile-period" value={timed ? period : ''} disabled={!timed} onChange={(e) => setPeriod((e.target as HTMLSelectElement).value)}>
          {PERIODS.map((p) => (
            <option key={p.value} value={p.value}>
              {p.label}
            </option>
          ))}
        </select>
        <span>
          <input id="profile-drift" type="checkbox" checked={drift} disabled={!timed || period === ''} onChange={(e) => setCompare((e.target as HTMLInputElement).checked)} /> <label for="profile-drift">Drift against the period before</label>
        </span>
        <label for="profile-columns">Columns</label>
        <input id="profile-columns" value={columns} placeholder="all (or event, properties.price)" onInput={(e) => setColumns((e.target as HTMLInputElement).value)} />
        <button type="submit" disabled={busy}>
          {busy ? 'Working…' : drift ? 'Compare' : 'Profile'}
        </button>
      </form>
      <ErrorText text={error} />
      {answer?.kind === 'profile' && <ProfileView answer={answer} chosen={chosen} choose={setChosen} />}
      {answer?.kind === 'drift' && <DriftView columns={answer.columns} chosen={chosen} choose={setChosen} />}
    </section>
  );
}

function ColumnPicker({ label, names, chosen, choose }: { label: string; names: string[]; chosen: string; choose: (c: string) => void }) {
  if (!names.length) return null;
  return (
    <label>
      {label}{' '}
      <select value={chosen} onChange={(e) => choose((e.target as HTMLSelectElement).value)}>
        {names.map((n) => (
          <option key={n}>{n}</option>
        ))}
      </select>
    </label>
  );
}

function ProfileView({ answer, chosen, choose }: { answer: Extract<Answer, { kind: 'profile' }>; chosen: string; choose: (c: string) => void }) {
  const numeric = answer.columns.filter((c) => c.histogram);
  const hist = numeric.find((c) => c.column === chosen)?.histogram;
  return (
    <div>
      <p role="status">
        {answer.rows} rows, {answer.columns.length} columns profiled.
      </p>
      <div class="charts">
        <Bars title="Null rate by column" bars={answer.columns.map((c) => ({ label: c.column, value: c.nullRate, text: pct(c.nullRate), tone: c.nullRate > 0.5 ? 'warn' : 'ok' }))} />
        <div>
          <ColumnPicker label="Histogram of" names={numeric.map((c) => c.column)} chosen={chosen} choose={choose} />
          {hist && <Bars title={`${chosen}: rows per bin`} bars={hist.map((h) => ({ label: `${num(h.from)} – ${num(h.to)}`, value: h.count }))} />}
        </div>
      </div>
      <div class="scroll">
        <table class="wide">
          <caption>Columns</caption>
          <thead>
            <tr>
              <th scope="col">Column</th>
              <th scope="col">Type</th>
              <th scope="col">Null</th>
              <th scope="col">Distinct</th>
              <th scope="col">Min · p50 · max</th>
              <th scope="col">Top values</th>
            </tr>
          </thead>
          <tbody>
            {answer.columns.map((c) => (
              <tr key={c.column}>
                <td>
                  <code>{c.column}</code>
                </td>
                <td>{c.type}</td>
                <td>{pct(c.nullRate)}</td>
                <td>{c.distinct}</td>
                <td>{c.numeric ? `${num(c.numeric.min)} · ${num(c.numeric.quantiles.p50)} · ${num(c.numeric.max)}` : ''}</td>
                <td>{c.top.slice(0, 3).map((t) => `${t.value.length > 32 ? `${t.value.slice(0, 32)}…` : t.value} (${t.count})`).join(', ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

function DriftView({ columns, chosen, choose }: { columns: ColumnDrift[]; chosen: string; choose: (c: string) => void }) {
  const col = columns.find((c) => c.column === chosen);
  const share = (n: number, total: number) => (total ? n / total : 0);
  return (
    <div>
      <p role="status">
        {columns[0] ? `${columns[0].baselineRows} rows before, ${columns[0].currentRows} in the period; ${columns.filter((c) => c.level === 'significant').length} columns drifted significantly.` : 'No column to compare.'}
      </p>
      <div class="charts">
        <Bars title="Drift by column (PSI)" bars={columns.map((c) => ({ label: c.column, value: c.psi, text: `${c.psi.toFixed(3)} ${c.level}`, tone: TONE[c.level] }))} />
        <div>
          <ColumnPicker label="Distribution of" names={columns.map((c) => c.column)} chosen={chosen} choose={choose} />
          {col && (
            <Bars
              title={`${col.column}: share of rows per bin`}
              legend={['this period', 'the period before']}
              bars={col.bins.map((b) => ({ label: b.bin, value: share(b.current, col.currentRows), compare: share(b.baseline, col.baselineRows), text: `${pct(share(b.current, col.currentRows))} vs ${pct(share(b.baseline, col.baselineRows))}` }))}
            />
          )}
        </div>
      </div>
    </div>
  );
}
