import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, setCsrf, whenUnauthorized } from './api.js';
import { Login } from './pages/Login.js';
import { Pipeline } from './pages/Pipeline.js';
import { Profiles } from './pages/Profiles.js';
import { Audiences } from './pages/Audiences.js';
import { Quality } from './pages/Quality.js';
import { Privacy } from './pages/Privacy.js';
import { Decisions } from './pages/Decisions.js';
import './style.css';

const PAGES = [
  { path: 'pipeline', title: 'Pipeline', view: Pipeline },
  { path: 'profiles', title: 'Profiles', view: Profiles },
  { path: 'audiences', title: 'Audiences', view: Audiences },
  { path: 'quality', title: 'Quality', view: Quality },
  { path: 'privacy', title: 'Privacy', view: Privacy },
  { path: 'decisions', title: 'Decisions', view: Decisions },
] as const;

/** The page and its argument from the location hash: #/profiles/email:ann@example.com. */
function route(): { page: string; arg: string } {
  const [page = 'pipeline', ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  return { page, arg: decodeURIComponent(rest.join('/')) };
}

function App() {
  const [session, setSession] = useState<{ actor: string } | null | undefined>(undefined);
  const [where, setWhere] = useState(route());

  useEffect(() => {
    const onHash = () => setWhere(route());
    addEventListener('hashchange', onHash);
    whenUnauthorized(() => setSession(null));
    api<{ actor: string; csrf: string }>('/console/session')
      .then((s) => {
        setCsrf(s.csrf);
        setSession({ actor: s.actor });
      })
      .catch(() => setSession(null));
    return () => removeEventListener('hashchange', onHash);
  }, []);

  if (session === undefined) return <p class="loading">Loading…</p>;
  if (session === null) {
    return (
      <Login
        onLogin={(s) => {
          setCsrf(s.csrf);
          setSession({ actor: s.actor });
        }}
      />
    );
  }
  const page = PAGES.find((p) => p.path === where.page) ?? PAGES[0];
  const View = page.view;
  const logout = async () => {
    await api('/console/logout', { method: 'POST' }).catch(() => undefined);
    setSession(null);
  };
  return (
    <>
      <header class="top">
        <span class="brand">Mosaic</span>
        <nav aria-label="Sections">
          <ul>
            {PAGES.map((p) => (
              <li key={p.path}>
                <a href={`#/${p.path}`} aria-current={p === page ? 'page' : undefined}>
                  {p.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class="who">
          {session.actor}{' '}
          <button type="button" class="link" onClick={() => void logout()}>
            Log out
          </button>
        </span>
      </header>
      <main>
        <View arg={where.arg} />
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
