import { useEffect, useState } from 'preact/hooks';
import { api, enc, messageOf } from '../api.js';
import { ErrorText, OkText } from '../components/Notice.js';

interface Request {
  id: string;
  kind: 'export' | 'erasure';
  subject?: string;
  status: string;
  actor: string;
  receivedAt: string;
  dueBy: string;
  completedAt?: string;
  overdue: boolean;
  error?: string;
  summary?: Record<string, unknown>;
}
interface AuditEntry {
  id?: number;
  at: string | number;
  actor: string;
  action: string;
  subject: string;
  status: number;
}

/** Access and erasure requests with their deadlines; erasing someone; searching the audit trail. */
export function Privacy() {
  const [requests, setRequests] = useState<Request[]>([]);
  const [subject, setSubject] = useState('');
  const [confirming, setConfirming] = useState(false);
  const [message, setMessage] = useState('');
  const [error, setError] = useState('');
  const [auditQuery, setAuditQuery] = useState('');
  const [audit, setAudit] = useState<AuditEntry[] | undefined>();

  useEffect(() => {
    let stop = false;
    const load = () => api<{ requests: Request[] }>('/v1/privacy/requests?limit=50').then((r) => !stop && setRequests(r.requests)).catch(() => undefined);
    void load();
    const t = setInterval(load, 2000);
    return () => {
      stop = true;
      clearInterval(t);
    };
  }, []);

  const erase = async () => {
    setError('');
    setMessage('');
    try {
      const r = await api<{ request: Request }>('/v1/privacy/erasures', { method: 'POST', body: { subject: subject.trim() } });
      setMessage(`Erasure ${r.request.id} accepted; it runs in the background (status below).`);
      setRequests((rs) => [r.request, ...rs.filter((x) => x.id !== r.request.id)]);
      setSubject('');
      setConfirming(false);
    } catch (e) {
      setError(messageOf(e));
    }
  };

  const search = async (e: Event) => {
    e.preventDefault();
    try {
      const q = auditQuery.trim();
      const r = await api<{ entries: AuditEntry[] }>(`/v1/audit?limit=100${q ? `&subject=${enc(q)}` : ''}`);
      setAudit(r.entries);
    } catch (err) {
      setError(messageOf(err));
    }
  };

  return (
    <section aria-labelledby="privacy-title">
      <h1 id="privacy-title">Privacy</h1>
      <h2>Erase a person</h2>
      <form
        class="search"
        onSubmit={(e) => {
          e.preventDefault();
          if (subject.trim()) setConfirming(true);
        }}
      >
        <label for="erase-subject">Identity to erase</label>
        <input id="erase-subject" value={subject} placeholder="email:ann@example.com, user_id:…" onInput={(e) => setSubject((e.target as HTMLInputElement).value)} />
        <button type="submit">Erase…</button>
      </form>
      {confirming && (
        <div role="alertdialog" aria-labelledby="confirm-title" class="confirm">
          <p id="confirm-title">
            Erase everything Mosaic holds about <strong>{subject}</strong>: the profile, its events in the log and the lake, its audience memberships? This cannot be undone.
          </p>
          <button type="button" class="danger" onClick={() => void erase()}>
            Erase for good
          </button>{' '}
          <button type="button" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </div>
      )}
      <OkText text={message} />
      <ErrorText text={error} />
      <h2>Requests</h2>
      {requests.length === 0 ? (
        <p class="muted">No export or erasure requests yet.</p>
      ) : (
        <div class="scroll">
          <table>
            <caption class="visually-hidden">Privacy requests, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Request</th>
                <th scope="col">Kind</th>
                <th scope="col">Status</th>
                <th scope="col">Received</th>
                <th scope="col">Due by</th>
                <th scope="col">By</th>
              </tr>
            </thead>
            <tbody>
              {requests.map((r) => (
                <tr key={r.id} data-request={r.id}>
                  <td>
                    <code>{r.id}</code>
                  </td>
                  <td>{r.kind}</td>
                  <td data-status>
                    {r.status}
                    {r.overdue && <strong class="error"> overdue</strong>}
                    {r.error && <div class="error">{r.error}</div>}
                  </td>
                  <td>
                    <time dateTime={r.receivedAt}>{r.receivedAt}</time>
                  </td>
                  <td>
                    <time dateTime={r.dueBy}>{r.dueBy}</time>
                  </td>
                  <td>{r.actor}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h2>Audit trail</h2>
      <form class="search" role="search" onSubmit={(e) => void search(e)}>
        <label for="audit-subject">Subject</label>
        <input id="audit-subject" value={auditQuery} placeholder="email:ann@example.com (empty: the latest entries)" onInput={(e) => setAuditQuery((e.target as HTMLInputElement).value)} />
        <button type="submit">Search</button>
      </form>
      {audit && (
        <div class="scroll">
          <table>
            <caption class="visually-hidden">Audit entries, newest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Action</th>
                <th scope="col">Subject</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {audit.map((a, i) => (
                <tr key={a.id ?? i}>
                  <td>{typeof a.at === 'number' ? new Date(a.at).toISOString() : a.at}</td>
                  <td>{a.actor}</td>
                  <td>{a.action}</td>
                  <td>{a.subject}</td>
                  <td>{a.status}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
