import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, messageOf } from '../api.js';
import { Experiments } from './Experiments.js';
import { ErrorText } from '../components/Notice.js';

interface Decision {
  placement: string;
  profileId?: string;
  personalized: boolean;
  variant?: { experiment: string; name: string };
  items: { id: string; score: number; source: string; reason: string; item: { title?: string; price?: number; categories: string[] } }[];
}

/** Try POST /v1/decide for someone and a placement: the ranked items, each with its reason. */
export function Decisions() {
  const [placements, setPlacements] = useState<string[] | undefined>();
  const [placement, setPlacement] = useState('');
  const [who, setWho] = useState('');
  const [item, setItem] = useState('');
  const [decision, setDecision] = useState<Decision | undefined>();
  const [error, setError] = useState('');

  useEffect(() => {
    api<{ placements: string[] }>('/v1/placements')
      .then((r) => {
        setPlacements(r.placements);
        setPlacement(r.placements[0] ?? '');
      })
      .catch((e: unknown) => setError(e instanceof ApiError && e.status === 404 ? 'Personalization is not enabled (personalization.enabled in mosaic.yaml; see docs/personalization.md).' : messageOf(e)));
  }, []);

  const decide = async (e: Event) => {
    e.preventDefault();
    setError('');
    const w = who.trim();
    const identity = !w ? {} : /^[a-z_]+:.+/i.test(w) ? { id: w } : w.includes('@') ? { id: `email:${w}` } : { userId: w };
    try {
      setDecision(await api<Decision>('/v1/decide', { method: 'POST', body: { placement, ...identity, ...(item.trim() ? { context: { item: item.trim() } } : {}) } }));
    } catch (err) {
      setError(messageOf(err));
    }
  };

  return (
    <section aria-labelledby="decisions-title">
      <h1 id="decisions-title">Decisions</h1>
      {placements && (
        <form class="form-grid" onSubmit={(e) => void decide(e)}>
          <label for="placement">Placement</label>
          <select id="placement" value={placement} onChange={(e) => setPlacement((e.target as HTMLSelectElement).value)}>
            {placements.map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
          <label for="who">Person</label>
          <input id="who" value={who} placeholder="user id, email or type:id (empty: an unknown visitor)" onInput={(e) => setWho((e.target as HTMLInputElement).value)} />
          <label for="item">Item on the page</label>
          <input id="item" value={item} placeholder="optional item id" onInput={(e) => setItem((e.target as HTMLInputElement).value)} />
          <span />
          <button type="submit">Decide</button>
        </form>
      )}
      <ErrorText text={error} />
      {decision && (
        <>
          <p>
            {decision.personalized ? 'Personalized' : 'Not personalized'} for {decision.profileId ? <code>{decision.profileId}</code> : 'an unknown visitor'}
            {decision.variant && (
              <>
                {' '}
                · experiment <code>{decision.variant.experiment}</code>, variant <strong>{decision.variant.name}</strong>
              </>
            )}
          </p>
          <ol class="decision">
            {decision.items.map((d) => (
              <li key={d.id}>
                <strong>{d.item.title ?? d.id}</strong> <span class="muted">({d.id}{d.item.price !== undefined ? `, ${d.item.price}` : ''})</span>
                <div>
                  {d.reason} <span class="muted">· {d.source}, score {d.score}</span>
                </div>
              </li>
            ))}
          </ol>
        </>
      )}
      {placements && <Experiments />}
    </section>
  );
}
