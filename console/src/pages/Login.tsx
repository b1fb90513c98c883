import { useState } from 'preact/hooks';
import { api, messageOf } from '../api.js';
import { ErrorText } from '../components/Notice.js';

export function Login({ onLogin }: { onLogin: (s: { actor: string; csrf: string }) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      onLogin(await api<{ actor: string; csrf: string }>('/console/login', { method: 'POST', body: { token } }));
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login">
      <h1>Mosaic console</h1>
      <form onSubmit={(e) => void submit(e)}>
        <label for="token">Admin API token</label>
        <input id="token" name="token" type="password" autocomplete="current-password" required value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} />
        <p class="hint">
          Create one with <code>mosaic token create --scopes admin</code>, or use <code>MOSAIC_API_TOKEN</code>.
        </p>
        <ErrorText text={error} />
        <button type="submit" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
      </form>
    </main>
  );
}
