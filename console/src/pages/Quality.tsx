import { useEffect, useState } from 'preact/hooks';
import { api, enc, messageOf } from '../api.js';
import { Expectations } from './Expectations.js';
import { Profiling } from './Profiling.js';
import { ErrorText, OkText } from '../components/Notice.js';

interface Quarantined {
  id: number;
  receivedAt: string;
  messageId: string;
  subject: string;
  violations: { rule: string; path?: string; message: string }[];
  status: 'pending' | 'replayed';
  replayedAt?: string;
  event: Record<string, unknown>;
}
interface Page {
  events: Quarantined[];
  next: number | null;
  pendingByRule: Record<string, number>;
  pendingBySubject: Record<string, number>;
}

/** A count per key, each key a button that filters the list by it. */
function Counts({ caption, counts, pick }: { caption: string; counts: [string, number][]; pick: (key: string) => void }) {
  if (!counts.length) return null;
  return (
    <table class="narrow">
      <caption>{caption}</caption>
      <tbody>
        {counts.map(([key, n]) => (
          <tr key={key}>
            <th scope="row">
              <button type="button" class="link" onClick={() => pick(key)}>
                {key}
              </button>
            </th>
            <td>{n}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Events held back by the tracking plan: by rule, each with what it broke; replayed once fixed (or anyway). */
export function Quality() {
  const [status, setStatus] = useState<'pending' | 'replayed' | 'all'>('pending');
  const [rule, setRule] = useState('');
  const [subject, setSubject] = useState('');
  const [data, setData] = useState<Page | undefined>();
  const [message, setMessage] = useState('');
  const [error, setError] = useState('');
  const [tick, setTick] = useState(0);

  useEffect(() => {
    api<Page>(`/v1/quarantine?limit=50&status=${status}${rule ? `&rule=${enc(rule)}` : ''}${subject ? `&subject=${enc(subject)}` : ''}`)
      .then((d) => {
        setData(d);
        setError('');
      })
      .catch((e: unknown) => setError(messageOf(e)));
  }, [status, rule, subject, tick]);

  const replay = async (body: Record<string, unknown>) => {
    setMessage('');
    try {
      const r = await api<{ replayed: number; failing: number; failures: { id: number; violations: { message: string }[] }[] }>('/v1/quarantine/replay', { method: 'POST', body });
      setMessage(`${r.replayed} replayed into the log${r.failing ? `; ${r.failing} still break the plan (${r.failures.map((f) => `#${f.id}: ${f.violations.map((v) => v.message).join('; ')}`).join(' · ')})` : ''}.`);
      setTick((t) => t + 1);
    } catch (e) {
      setError(messageOf(e));
    }
  };

  const rules = Object.entries(data?.pendingByRule ?? {});
  const subjects = Object.entries(data?.pendingBySubject ?? {});
  return (
    <section aria-labelledby="quality-title">
      <h1 id="quality-title">Data quality</h1>
      <Expectations />
      <Profiling />
      <h2>Quarantine</h2>
      <p class="hint">Events that broke the tracking plan are held here, whole. Fix the plan (or the sender), then replay: each is checked again; "Replay anyway" lets it through as it is.</p>
      <div class="pair">
        <Counts caption="Pending by rule" counts={rules} pick={setRule} />
        <Counts caption="Pending by event" counts={subjects} pick={setSubject} />
      </div>
      <div class="toolbar">
        <label>
          Status{' '}
          <select value={status} onChange={(e) => setStatus((e.target as HTMLSelectElement).value as typeof status)}>
            <option value="pending">pending</option>
            <option value="replayed">replayed</option>
            <option value="all">all</option>
          </select>
        </label>
        {rule && (
          <span>
            Rule <code>{rule}</code>{' '}
            <button type="button" class="link" onClick={() => setRule('')}>
              (all rules)
            </button>
          </span>
        )}
        {subject && (
          <span>
            Event <code>{subject}</code>{' '}
            <button type="button" class="link" onClick={() => setSubject('')}>
              (all events)
            </button>
          </span>
        )}
        {status === 'pending' && (data?.events.length ?? 0) > 0 && (
          <button type="button" onClick={() => void replay(rule || subject ? { ...(rule ? { rule } : {}), ...(subject ? { subject } : {}) } : { all: true })}>
            Replay all {rule || subject ? 'shown' : 'pending'}
          </button>
        )}
      </div>
      <OkText text={message} />
      <ErrorText text={error} />
      {data && data.events.length === 0 && <p class="muted">Nothing here.</p>}
      <ul class="cards">
        {data?.events.map((q) => (
          <li key={q.id} class="card">
            <h3>
              #{q.id} {String(q.event.event ?? q.event.type ?? '')} <span class="muted">({q.status})</span>
            </h3>
            <p class="muted">
              received <time dateTime={q.receivedAt}>{q.receivedAt}</time> · {q.subject}
            </p>
            <ul>
              {q.violations.map((v, i) => (
                <li key={i}>
                  <code>{v.rule}</code> {v.message}
                </li>
              ))}
            </ul>
            <details>
              <summary>Event</summary>
              <pre>{JSON.stringify(q.event, null, 2)}</pre>
            </details>
            {q.status === 'pending' && (
              <div class="toolbar">
                <button type="button" onClick={() => void replay({ ids: [q.id] })}>
                  Replay
                </button>
                <button type="button" onClick={() => void replay({ ids: [q.id], force: true })}>
                  Replay anyway
                </button>
              </div>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
