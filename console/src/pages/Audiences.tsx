import { useEffect, useState } from 'preact/hooks';
import { api, enc, messageOf } from '../api.js';
import { Chart } from '../components/Chart.js';
import { ruleText } from '../rule-text.js';
import { ErrorText } from '../components/Notice.js';

interface Backfill {
  done: number;
  total: number;
  startedAt: number;
  finishedAt?: number;
}
interface Audience {
  name: string;
  description?: string;
  rule: Record<string, unknown>;
  size: number;
  backfill: Backfill | null;
}
interface Member {
  profileId: string;
  since: string;
  identities: { type: string; id: string }[];
}

const backfillText = (b: Backfill | null) => (!b ? '–' : b.finishedAt ? `done (${b.total.toLocaleString('en-US')} profiles)` : `${Math.floor((100 * b.done) / Math.max(1, b.total))}% (${b.done.toLocaleString('en-US')} of ${b.total.toLocaleString('en-US')})`);

/** Audiences: sizes, rules in words, backfill progress; one audience's size over time and members. */
export function Audiences({ arg }: { arg: string }) {
  const [list, setList] = useState<Audience[] | undefined>();
  const [error, setError] = useState('');
  useEffect(() => {
    let stop = false;
    const load = () =>
      api<{ audiences: Audience[] }>('/v1/audiences')
        .then((r) => !stop && setList(r.audiences))
        .catch((e: unknown) => !stop && setError(messageOf(e)));
    void load();
    const t = setInterval(load, 5000);
    return () => {
      stop = true;
      clearInterval(t);
    };
  }, []);
  if (arg) return <AudienceDetail name={arg} audience={list?.find((a) => a.name === arg)} />;
  return (
    <section aria-labelledby="audiences-title">
      <h1 id="audiences-title">Audiences</h1>
      <ErrorText text={error} />
      {list && list.length === 0 && <p class="muted">No audiences are configured (audiences: in mosaic.yaml; see docs/audiences.md).</p>}
      {list && list.length > 0 && (
        <div class="scroll">
          <table>
            <caption class="visually-hidden">Audiences</caption>
            <thead>
              <tr>
                <th scope="col">Audience</th>
                <th scope="col">Members</th>
                <th scope="col">Rule</th>
                <th scope="col">Backfill</th>
              </tr>
            </thead>
            <tbody>
              {list.map((a) => (
                <tr key={a.name}>
                  <td>
                    <a href={`#/audiences/${enc(a.name)}`}>{a.name}</a>
                    {a.description && <div class="muted">{a.description}</div>}
                  </td>
                  <td>{a.size.toLocaleString('en-US')}</td>
                  <td>{ruleText(a.rule)}</td>
                  <td>{backfillText(a.backfill)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function AudienceDetail({ name, audience }: { name: string; audience: Audience | undefined }) {
  const [sizes, setSizes] = useState<{ at: string; size: number }[]>([]);
  const [members, setMembers] = useState<Member[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [cursors, setCursors] = useState<string[]>([]);
  const [error, setError] = useState('');

  const page = async (cursor: string | undefined) => {
    try {
      const r = await api<{ members: Member[]; next: string | null }>(`/v1/audiences/${enc(name)}/members?limit=25${cursor ? `&cursor=${enc(cursor)}` : ''}`);
      setMembers(r.members);
      setNext(r.next);
    } catch (e) {
      setError(messageOf(e));
    }
  };
  useEffect(() => {
    setCursors([]);
    void page(undefined);
    api<{ sizes: { at: string; size: number }[] }>(`/v1/audiences/${enc(name)}/sizes`)
      .then((r) => setSizes(r.sizes))
      .catch(() => setSizes([]));
  }, [name]);

  return (
    <section aria-labelledby="audience-title">
      <p>
        <a href="#/audiences">← All audiences</a>
      </p>
      <h1 id="audience-title">Audience {name}</h1>
      <ErrorText text={error} />
      {audience && (
        <dl class="facts">
          <dt>Rule</dt>
          <dd data-rule>{ruleText(audience.rule)}</dd>
          <dt>Members</dt>
          <dd>{audience.size.toLocaleString('en-US')}</dd>
          <dt>Backfill</dt>
          <dd>{backfillText(audience.backfill)}</dd>
        </dl>
      )}
      <Chart title="Size over the last day" unit="members" times={sizes.map((s) => Date.parse(s.at))} series={[{ label: 'members', color: '#1f6feb', values: sizes.map((s) => s.size) }]} summary={sizes.length ? `${sizes.length} readings, now ${sizes[sizes.length - 1]!.size}` : 'no readings yet'} />
      <h2>Members</h2>
      {members.length === 0 ? (
        <p class="muted">No members.</p>
      ) : (
        <table>
          <caption class="visually-hidden">Members of {name}</caption>
          <thead>
            <tr>
              <th scope="col">Profile</th>
              <th scope="col">Identities</th>
              <th scope="col">Member since</th>
            </tr>
          </thead>
          <tbody>
            {members.map((m) => (
              <tr key={m.profileId}>
                <td>
                  <a href={`#/profiles/${enc(m.identities[0] ? `${m.identities[0].type}:${m.identities[0].id}` : m.profileId)}`}>
                    <code>{m.profileId}</code>
                  </a>
                </td>
                <td>{m.identities.map((i) => `${i.type}:${i.id}`).join(', ')}</td>
                <td>
                  <time dateTime={m.since}>{m.since}</time>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav class="pager" aria-label="Member pages">
        <button
          type="button"
          disabled={cursors.length === 0}
          onClick={() => {
            const prev = cursors.slice(0, -1);
            setCursors(prev);
            void page(prev[prev.length - 1]);
          }}
        >
          Previous
        </button>
        <button
          type="button"
          disabled={next === null}
          onClick={() => {
            setCursors([...cursors, next!]);
            void page(next!);
          }}
        >
          Next
        </button>
      </nav>
    </section>
  );
}
