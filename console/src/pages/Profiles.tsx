import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, enc, messageOf } from '../api.js';
import { ErrorText } from '../components/Notice.js';

interface Profile {
  id: string;
  identities: { type: string; id: string }[];
  traits: Record<string, unknown>;
  computedTraits: Record<string, unknown>;
  firstSeen: string | null;
  lastSeen: string | null;
  eventCount: number;
  sessions?: Record<string, unknown>;
  consent: Record<string, { granted: boolean; at: string }>;
  audiences: string[];
}
interface Merge {
  kind: string;
  at: string;
  messageId: string;
  identities: { type: string; id: string }[];
  profiles?: string[];
  dropped?: { type: string; id: string; rule: string }[];
}
interface RecentEvent {
  type: string;
  event?: string;
  name?: string;
  timestamp: string;
  messageId: string;
}

/** What someone typed, as the refs to try: `type:id` as given; an email; else a user id, then an anonymous id. */
export function refsFor(query: string): string[] {
  const q = query.trim();
  if (!q) return [];
  if (/^[a-z_]+:.+/i.test(q)) return [q];
  if (q.includes('@')) return [`email:${q}`];
  return [`user_id:${q}`, `anonymous_id:${q}`];
}

/** A value as text: objects as their non-empty fields ("direct, at 2026-…"), not as JSON. */
const show = (v: unknown): string => {
  if (v === null || v === undefined) return '–';
  if (typeof v !== 'object') return String(v);
  if (Array.isArray(v)) return v.map(show).join(', ');
  return Object.entries(v)
    .filter(([, x]) => x !== null && x !== undefined)
    .map(([k, x]) => `${k}: ${show(x)}`)
    .join(', ');
};

function KeyValues({ caption, rows }: { caption: string; rows: Record<string, unknown> }) {
  const keys = Object.keys(rows);
  return (
    <table>
      <caption>{caption}</caption>
      <tbody>
        {keys.length === 0 ? (
          <tr>
            <td colSpan={2} class="muted">
              none
            </td>
          </tr>
        ) : (
          keys.map((k) => (
            <tr key={k}>
              <th scope="row">{k}</th>
              <td>{show(rows[k])}</td>
            </tr>
          ))
        )}
      </tbody>
    </table>
  );
}

/** Find a profile by any identity; see what Mosaic knows of the person. */
export function Profiles({ arg }: { arg: string }) {
  const [query, setQuery] = useState(arg);
  const [profile, setProfile] = useState<Profile | undefined>();
  const [merges, setMerges] = useState<Merge[]>([]);
  const [events, setEvents] = useState<RecentEvent[] | string>([]);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    // Only a profile named in the address replaces what is typed (not the empty one of a fresh page: typing may have begun).
    if (arg) setQuery(arg);
    if (!arg) {
      setProfile(undefined);
      return;
    }
    let stop = false;
    setBusy(true);
    setError('');
    void (async () => {
      for (const ref of refsFor(arg)) {
        try {
          const p = await api<Profile>(`/v1/profiles/${enc(ref)}`);
          if (stop) return;
          setProfile(p);
          const [m, e] = await Promise.all([
            api<{ merges: Merge[] }>(`/v1/profiles/${enc(ref)}/merges`).then((r) => r.merges).catch(() => []),
            api<{ events: RecentEvent[] }>(`/v1/profiles/${enc(ref)}/events?limit=20`).then((r) => r.events).catch((err: unknown) => (messageOf(err))),
          ]);
          if (stop) return;
          setMerges(m);
          setEvents(e);
          setBusy(false);
          return;
        } catch (err) {
          if (!(err instanceof ApiError && err.status === 404)) {
            if (!stop) setError(messageOf(err));
            break;
          }
        }
      }
      if (!stop) {
        setProfile(undefined);
        setError((e) => e || `No profile holds "${arg}".`);
        setBusy(false);
      }
    })();
    return () => {
      stop = true;
    };
  }, [arg]);

  return (
    <section aria-labelledby="profiles-title">
      <h1 id="profiles-title">Profiles</h1>
      <form
        class="search"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          location.hash = `#/profiles/${enc(query.trim())}`;
        }}
      >
        <label for="identity">Identity</label>
        <input id="identity" type="search" placeholder="email, user id, anonymous id or type:id" value={query} onInput={(e) => setQuery((e.target as HTMLInputElement).value)} />
        <button type="submit">Find</button>
      </form>
      {busy && <p aria-live="polite">Looking…</p>}
      <ErrorText text={error} />
      {profile && !busy && (
        <article class="profile" aria-labelledby="profile-id">
          <h2 id="profile-id">
            Profile <code>{profile.id}</code>
          </h2>
          <p class="muted">
            {profile.eventCount} events · first seen {profile.firstSeen ?? '–'} · last seen {profile.lastSeen ?? '–'}
          </p>
          <div class="grid">
            <table>
              <caption>Identities</caption>
              <tbody>
                {profile.identities.map((i) => (
                  <tr key={`${i.type}:${i.id}`}>
                    <th scope="row">{i.type}</th>
                    <td>{i.id}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <KeyValues caption="Traits" rows={profile.traits} />
            <KeyValues caption="Computed traits" rows={profile.computedTraits} />
            <KeyValues caption="Sessions" rows={Object.fromEntries(Object.entries(profile.sessions ?? {}).filter(([k]) => k !== 'recent'))} />
            <KeyValues caption="Consent" rows={Object.fromEntries(Object.entries(profile.consent).map(([k, v]) => [k, `${v.granted ? 'granted' : 'denied'} (${v.at})`]))} />
            <div>
              <h3>Audiences</h3>
              {profile.audiences.length ? (
                <ul class="tags">
                  {profile.audiences.map((a) => (
                    <li key={a}>{a}</li>
                  ))}
                </ul>
              ) : (
                <p class="muted">in no audience</p>
              )}
            </div>
          </div>
          <h3>Merge history</h3>
          {merges.length === 0 ? (
            <p class="muted">No merges.</p>
          ) : (
            <ol class="timeline">
              {merges.map((m) => (
                <li key={m.messageId + m.at}>
                  <time dateTime={m.at}>{m.at}</time> {m.kind}: {m.identities.map((i) => `${i.type}:${i.id}`).join(', ')}
                  {m.dropped?.length ? ` (refused: ${m.dropped.map((d) => `${d.type}:${d.id} by ${d.rule}`).join(', ')})` : ''}
                </li>
              ))}
            </ol>
          )}
          <h3>Recent events</h3>
          {typeof events === 'string' ? (
            <p class="muted">{events}</p>
          ) : events.length === 0 ? (
            <p class="muted">None indexed.</p>
          ) : (
            <table class="events">
              <caption class="visually-hidden">Recent events, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Type</th>
                  <th scope="col">Event</th>
                </tr>
              </thead>
              <tbody>
                {events.map((e) => (
                  <tr key={e.messageId}>
                    <td>
                      <time dateTime={e.timestamp}>{e.timestamp}</time>
                    </td>
                    <td>{e.type}</td>
                    <td>{e.event ?? e.name ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </article>
      )}
    </section>
  );
}
