import pg from 'pg';
import type { IdentityKey } from '../../core/identity.js';
import type { Cluster, Hyperedge, Stamp } from '../../core/identity-graph.js';
import type { ProfileDoc } from '../../core/profile.js';
import type { AudienceMemberPage, DeadLetter, MembershipRecord, OutboxEntry, ProfileCommit, ProfileStore, SeenMessage } from '../../ports/profile-store.js';
import { PartitionLostError } from '../../ports/partition-leases.js';
import { migrate, type Migration } from './migrate.js';
import { withTransaction } from './transaction.js';

/**
 * Versioned, applied once each under an advisory lock (many processes may start together).
 * Documents are text, not jsonb: they are only ever read back whole, and text costs the server
 * nothing to parse. Keys collate as bytes ("C"), as SQLite compares them, so cursors page in
 * the same order and an ordered scan is an index range scan; audience members are keyed
 * (audience, profile_id), so a member page stays one range scan at any number of profiles.
 */
const MIGRATIONS: Migration[] = [
  `CREATE TABLE profiles (id text COLLATE "C" PRIMARY KEY, doc text NOT NULL);
   CREATE TABLE identities (key text COLLATE "C" PRIMARY KEY, profile_id text COLLATE "C" NOT NULL);
   CREATE TABLE offsets (partition integer PRIMARY KEY, next_offset bigint NOT NULL);
   CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
   CREATE TABLE parts (anchor text COLLATE "C" PRIMARY KEY, doc text NOT NULL);
   CREATE TABLE edges (key text COLLATE "C" PRIMARY KEY, t bigint NOT NULL, m text NOT NULL, nodes text NOT NULL);
   CREATE TABLE audience_members (audience text COLLATE "C" NOT NULL, profile_id text COLLATE "C" NOT NULL, since bigint NOT NULL, PRIMARY KEY (audience, profile_id));
   CREATE INDEX audience_members_by_profile ON audience_members (profile_id);
   CREATE TABLE audience_sizes (audience text NOT NULL, at bigint NOT NULL, size bigint NOT NULL, PRIMARY KEY (audience, at));
   CREATE TABLE outbox (id bigserial PRIMARY KEY, payload text NOT NULL);
   CREATE TABLE dead_letters (id bigserial PRIMARY KEY, at bigint NOT NULL, kind text NOT NULL, name text NOT NULL, reason text NOT NULL, payload text NOT NULL);
   CREATE INDEX dead_letters_by_kind ON dead_letters (kind, id);`,
  // Partition leases: the holder of each partition, checked by every commit (fencing).
  `ALTER TABLE offsets ADD COLUMN owner text;`,
  // Messages applied, for logs that let some repeats through. Keyed by partition first: a
  // processor's serializable reads then lock only its own partitions' index pages.
  `CREATE TABLE seen_messages (partition integer NOT NULL, key text COLLATE "C" NOT NULL, at bigint NOT NULL, PRIMARY KEY (partition, key));
   CREATE INDEX seen_messages_by_time ON seen_messages (at);`,
  // Audience sizes kept by the commits that change them: counting 10M members takes 1.2 s here
  // (measured), and the audiences API shows sizes. One row per audience and shard: processors
  // holding different partitions add to different rows, so their commits do not conflict.
  `CREATE TABLE audience_counts (audience text COLLATE "C" NOT NULL, shard integer NOT NULL, members bigint NOT NULL, PRIMARY KEY (audience, shard));
   INSERT INTO audience_counts SELECT audience, 0, count(*) FROM audience_members GROUP BY audience;`,
  // Scheduled jobs' history (adapters/postgres/job-runs.ts).
  `CREATE TABLE job_runs (id bigserial PRIMARY KEY, job text NOT NULL, started_at bigint NOT NULL, finished_at bigint NOT NULL, status text NOT NULL, rows bigint, message text);
   CREATE INDEX job_runs_by_job ON job_runs (job, id);`,
  // The tracking plan's schemas, the quarantine and expectation runs (adapters/postgres/quality-store.ts).
  `CREATE TABLE schema_versions (id bigserial PRIMARY KEY, subject text NOT NULL, version integer NOT NULL, schema text NOT NULL,
                                 compatibility text NOT NULL, created_at bigint NOT NULL, UNIQUE (subject, version));
   CREATE TABLE quarantine (id bigserial PRIMARY KEY, received_at bigint NOT NULL, source_id text NOT NULL, message_id text NOT NULL,
                            subject text NOT NULL, rules text NOT NULL, violations text NOT NULL, payload text NOT NULL,
                            batch_sent_at text, ip text, replayed_at bigint);
   CREATE INDEX quarantine_pending ON quarantine (replayed_at, id);
   CREATE TABLE expectation_runs (id bigserial PRIMARY KEY, suite text NOT NULL, started_at bigint NOT NULL, run text NOT NULL);
   CREATE INDEX expectation_runs_by_suite ON expectation_runs (suite, id);`,
  // The consent log: append-only, hash-chained (adapters/postgres/consent-log.ts).
  `CREATE TABLE consent_log (seq bigint PRIMARY KEY, at bigint NOT NULL, subject text NOT NULL, purposes text NOT NULL, source text NOT NULL,
                            message_id text NOT NULL UNIQUE, prev_hash text NOT NULL, hash text NOT NULL);`,
  // Erased people's identifiers, hashed: neither a replay nor a re-import brings them back.
  `CREATE TABLE suppressions (hash text PRIMARY KEY, at bigint NOT NULL);
   ALTER TABLE consent_log ADD COLUMN commitment text, ADD COLUMN salt text;`,
  // Crypto-shredding keys for a log that cannot remove single events (adapters/postgres/subject-keys.ts).
  `CREATE TABLE subject_keys (subject_hash text PRIMARY KEY, id text NOT NULL UNIQUE, key bytea NOT NULL, at bigint NOT NULL);`,
  // The catalog and item signals (adapters/postgres/item-store.ts); label: the vector index's key.
  `CREATE TABLE items (label bigserial PRIMARY KEY, id text NOT NULL UNIQUE, doc text, seq bigint NOT NULL);
   CREATE INDEX items_seq ON items (seq);
   CREATE TABLE item_scores (signal text NOT NULL, item text NOT NULL, score double precision NOT NULL, at bigint NOT NULL, rank double precision NOT NULL, PRIMARY KEY (signal, item));
   CREATE INDEX item_scores_rank ON item_scores (signal, rank DESC);
   CREATE TABLE item_pairs (kind text NOT NULL, a text NOT NULL, b text NOT NULL, score double precision NOT NULL, at bigint NOT NULL, rank double precision NOT NULL, PRIMARY KEY (kind, a, b));
   CREATE INDEX item_pairs_rank ON item_pairs (kind, a, rank DESC);
   CREATE TABLE signal_positions (id int PRIMARY KEY CHECK (id = 1), positions text NOT NULL);`,
];

/** Creates or upgrades Mosaic's tables in `schema`: any process opening any PostgreSQL adapter first. */
export async function migrateSchema(pool: pg.Pool, schema: string): Promise<void> {
  await migrate(pool, schema, MIGRATIONS);
}

/** Size samples older than this are dropped as new ones are recorded (as in the SQLite store). */
const SIZE_HISTORY_MS = 90 * 86_400_000;

export interface PostgresProfileStoreOptions {
  /** postgres://user@host:port/database */
  url: string;
  /** Schema holding Mosaic's tables (created if missing): several Mosaics can share a database. */
  schema?: string;
  /** Connections in this process's pool. */
  poolSize?: number;
}

/** A pool, or one client inside a transaction. */
type Queryable = Pick<pg.Pool, 'query'>;

/** Serialization failure, deadlock: the transaction is retried from its first read. */
const RETRYABLE = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 20;

/**
 * The ProfileStore on PostgreSQL. A commit is one transaction of set-based statements (arrays
 * bound as parameters and unnested), so its round trips do not grow with the batch.
 */
export class PostgresProfileStore implements ProfileStore {
  private constructor(
    private readonly pool: pg.Pool,
    readonly schema: string,
    /** Set on the view of one transaction: statements go to its client. */
    private readonly client?: pg.PoolClient,
  ) {}

  private get db(): Queryable {
    return this.client ?? this.pool;
  }

  /**
   * Runs `work` in one SERIALIZABLE transaction: its reads and its commit act as if no other
   * processor ran at the same time. PostgreSQL aborts one of two conflicting transactions
   * (two processors merging the same person from different partitions); it is run again from
   * its first read. This is what makes identity merges across partitions correct.
   */
  readonly transactional = async <T>(work: (tx: ProfileStore) => Promise<T>): Promise<T> => {
    if (this.client) return work(this);
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      try {
        return await withTransaction(client, () => work(new PostgresProfileStore(this.pool, this.schema, client)), 'BEGIN ISOLATION LEVEL SERIALIZABLE');
      } catch (err) {
        if (!RETRYABLE.has((err as { code?: string }).code ?? '') || attempt >= MAX_ATTEMPTS) throw err;
        await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
      } finally {
        client.release();
      }
    }
  };

  static async open(opts: PostgresProfileStoreOptions): Promise<PostgresProfileStore> {
    const schema = opts.schema ?? 'mosaic';
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid PostgreSQL schema name "${schema}": lower-case letters, digits and _ only`);
    // search_path is set per connection at start-up, so every statement below names bare tables.
    const pool = new pg.Pool({ connectionString: opts.url, max: opts.poolSize ?? 10, options: `-c search_path=${schema}`, application_name: 'mosaic' });
    // An idle client's error (the server restarting) must not crash the process; the next query reconnects.
    pool.on('error', () => undefined);
    try {
      await migrate(pool, schema, MIGRATIONS);
    } catch (err) {
      await pool.end();
      throw err;
    }
    return new PostgresProfileStore(pool, schema);
  }

  private async rows<T>(text: string, values: unknown[] = []): Promise<T[]> {
    return (await this.db.query({ text, values, rowMode: 'array' })).rows as T[];
  }

  async readOffsets(): Promise<Map<number, number>> {
    return new Map((await this.rows<[number, string]>('SELECT partition, next_offset FROM offsets')).map(([p, n]) => [p, Number(n)]));
  }

  async nodeClusters(nodes: readonly IdentityKey[]): Promise<Map<IdentityKey, string>> {
    if (nodes.length === 0) return new Map();
    return new Map(await this.rows<[string, string]>('SELECT key, profile_id FROM identities WHERE key = ANY($1::text[])', [nodes]));
  }

  /** Documents (clusters, parts) whose key is among `keys`, by their own id. */
  private async docsByKey<T extends { id: string }>(query: string, keys: readonly string[]): Promise<Map<string, T>> {
    const out = new Map<string, T>();
    if (keys.length === 0) return out;
    for (const [text] of await this.rows<[string]>(query, [keys])) {
      const doc = JSON.parse(text) as T;
      out.set(doc.id, doc);
    }
    return out;
  }

  getClusters(ids: readonly string[]): Promise<Map<string, Cluster>> {
    return this.docsByKey<Cluster>('SELECT doc FROM profiles WHERE id = ANY($1::text[])', ids);
  }

  async edgeStamps(keys: readonly string[]): Promise<Map<string, Stamp>> {
    if (keys.length === 0) return new Map();
    return new Map((await this.rows<[string, string, string]>('SELECT key, t, m FROM edges WHERE key = ANY($1::text[])', [keys])).map(([k, t, m]) => [k, { t: Number(t), m }]));
  }

  async getEdges(keys: readonly string[]): Promise<Hyperedge[]> {
    if (keys.length === 0) return [];
    const rows = await this.rows<[string, string, string, string]>('SELECT key, t, m, nodes FROM edges WHERE key = ANY($1::text[])', [keys]);
    return rows.map(([key, t, m, n]) => ({ key, t: Number(t), m, nodes: JSON.parse(n) as IdentityKey[] }));
  }

  getParts(anchors: readonly IdentityKey[]): Promise<Map<IdentityKey, ProfileDoc>> {
    return this.docsByKey<ProfileDoc>('SELECT doc FROM parts WHERE anchor = ANY($1::text[])', anchors);
  }

  async scanClusters(afterId: string | undefined, limit: number): Promise<Cluster[]> {
    const rows = await this.rows<[string]>('SELECT doc FROM profiles WHERE id > $1 ORDER BY id LIMIT $2', [afterId ?? '', limit]);
    return rows.map(([t]) => JSON.parse(t) as Cluster);
  }

  async findCluster(key: IdentityKey): Promise<Cluster | undefined> {
    const [row] = await this.rows<[string]>('SELECT p.doc FROM identities i JOIN profiles p ON p.id = i.profile_id WHERE i.key = $1', [key]);
    return row ? (JSON.parse(row[0]) as Cluster) : undefined;
  }

  readonly readProfile = async (key: IdentityKey): Promise<{ cluster: Cluster; parts: ProfileDoc[]; audiences: string[] } | undefined> => {
    const [row] = await this.rows<[string, string[], string[]]>(
      `SELECT p.doc,
         ARRAY(SELECT pa.doc FROM parts pa WHERE pa.anchor IN (SELECT json_array_elements_text(p.doc::json->'members'))),
         ARRAY(SELECT m.audience FROM audience_members m WHERE m.profile_id = p.id ORDER BY m.audience)
       FROM identities i JOIN profiles p ON p.id = i.profile_id WHERE i.key = $1`,
      [key],
    );
    if (!row) return undefined;
    return { cluster: JSON.parse(row[0]) as Cluster, parts: row[1].map((t) => JSON.parse(t) as ProfileDoc), audiences: row[2] };
  };

  async memberships(profileIds: readonly string[]): Promise<Map<string, Set<string>>> {
    const out = new Map<string, Set<string>>();
    if (profileIds.length === 0) return out;
    for (const [id, audience] of await this.rows<[string, string]>('SELECT profile_id, audience FROM audience_members WHERE profile_id = ANY($1::text[])', [profileIds])) {
      let set = out.get(id);
      if (!set) out.set(id, (set = new Set()));
      set.add(audience);
    }
    return out;
  }

  /** Members in profile id order; the cursor is the last id. */
  async audienceMembers(audience: string, cursor: string | undefined, limit: number): Promise<AudienceMemberPage> {
    const rows = await this.rows<[string, string]>(
      'SELECT profile_id, since FROM audience_members WHERE audience = $1 AND profile_id > $2 ORDER BY profile_id LIMIT $3',
      [audience, cursor ?? '', limit],
    );
    const members = rows.map(([profileId, since]) => ({ profileId, since: Number(since) }));
    return rows.length === limit ? { members, next: rows[rows.length - 1]![0] } : { members };
  }

  async audienceCounts(): Promise<Map<string, number>> {
    return new Map((await this.rows<[string, string]>('SELECT audience, sum(members) FROM audience_counts GROUP BY audience HAVING sum(members) > 0')).map(([a, n]) => [a, Number(n)]));
  }

  async recordAudienceSizes(at: number, sizes: ReadonlyMap<string, number>): Promise<void> {
    await this.transaction(async (client) => {
      await client.query(
        `INSERT INTO audience_sizes (audience, at, size) SELECT a, $2, s FROM unnest($1::text[], $3::bigint[]) AS t(a, s)
         ON CONFLICT (audience, at) DO UPDATE SET size = excluded.size`,
        [[...sizes.keys()], at, [...sizes.values()]],
      );
      await client.query('DELETE FROM audience_sizes WHERE at < $1', [at - SIZE_HISTORY_MS]);
    });
  }

  async audienceSizes(audience: string, sinceMs: number): Promise<{ at: number; size: number }[]> {
    const rows = await this.rows<[string, string]>('SELECT at, size FROM audience_sizes WHERE audience = $1 AND at >= $2 ORDER BY at', [audience, sinceMs]);
    return rows.map(([at, size]) => ({ at: Number(at), size: Number(size) }));
  }

  async readOutbox(limit: number): Promise<OutboxEntry[]> {
    return (await this.rows<[string, string]>('SELECT id, payload FROM outbox ORDER BY id LIMIT $1', [limit])).map(([id, payload]) => ({ id: Number(id), payload }));
  }

  async deleteOutbox(ids: readonly number[]): Promise<void> {
    if (ids.length) await this.db.query('DELETE FROM outbox WHERE id = ANY($1::bigint[])', [ids]);
  }

  async deadLetters(afterId: number, limit: number, kind?: DeadLetter['kind']): Promise<(DeadLetter & { id: number })[]> {
    const rows = await this.rows<[string, string, DeadLetter['kind'], string, string, string]>(
      'SELECT id, at, kind, name, reason, payload FROM dead_letters WHERE id > $1 AND ($2::text IS NULL OR kind = $2) ORDER BY id LIMIT $3',
      [afterId, kind ?? null, limit],
    );
    return rows.map(([id, at, k, name, reason, payload]) => ({ id: Number(id), at: Number(at), kind: k, name, reason, payload }));
  }

  async seenMessages(messages: readonly SeenMessage[]): Promise<Set<string>> {
    if (messages.length === 0) return new Set();
    const rows = await this.rows<[string]>(
      'SELECT s.key FROM unnest($1::integer[], $2::text[]) AS t(p, k) JOIN seen_messages s ON s.partition = t.p AND s.key = t.k',
      [messages.map(([p]) => p), messages.map(([, k]) => k)],
    );
    return new Set(rows.map(([k]) => k));
  }

  async forgetSeenMessages(beforeMs: number): Promise<number> {
    return (await this.db.query('DELETE FROM seen_messages WHERE at < $1', [beforeMs])).rowCount ?? 0;
  }

  async commit(batch: ProfileCommit): Promise<void> {
    // Everything is serialised before BEGIN: a document that cannot be written fails the commit
    // with nothing sent.
    const statements = commitStatements(batch);
    const offsets = [...(batch.offsets ?? [])];
    if (statements.length === 0 && offsets.length === 0) return;
    await this.transaction(async (client) => {
      for (const [text, values] of statements) await client.query(text, values);
      if (offsets.length) await writeOffsets(client, offsets, batch.fence);
    });
  }

  /** One transaction: its own, or the one `transactional` runs this view in. */
  private async transaction(fn: (client: Queryable) => Promise<void>): Promise<void> {
    if (this.client) return fn(this.client);
    const client = await this.pool.connect();
    try {
      await withTransaction(client, () => fn(client));
    } finally {
      client.release();
    }
  }

  async suppressions(): Promise<string[]> {
    return (await this.rows<[string]>('SELECT hash FROM suppressions')).map(([h]) => h);
  }

  async suppressionCount(): Promise<number> {
    const [row] = await this.rows<[string]>('SELECT count(*) FROM suppressions');
    return Number(row![0]);
  }

  /** Dead row versions stay in the tables' pages until VACUUM reclaims them. */
  async scrub(): Promise<boolean> {
    if (this.client) return false; // inside a transaction: VACUUM cannot run there
    await this.db.query('VACUUM profiles, identities, parts, edges, audience_members, outbox, dead_letters, quarantine, consent_log');
    return true;
  }

  async reset(): Promise<void> {
    // Transformation dead letters are made again by the replay; destination ones are history.
    await this.db.query(`BEGIN; TRUNCATE profiles, identities, offsets, parts, edges, audience_members, audience_counts, audience_sizes, outbox, seen_messages;
      DELETE FROM dead_letters WHERE kind = 'transformation'; COMMIT;`);
  }

  async getMeta(key: string): Promise<string | undefined> {
    const [row] = await this.rows<[string]>('SELECT value FROM meta WHERE key = $1', [key]);
    return row?.[0];
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.db.query('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
  }

  async countProfiles(): Promise<number> {
    const [row] = await this.rows<[string]>('SELECT count(*) FROM profiles');
    return Number(row![0]);
  }

  async close(): Promise<void> {
    if (!this.client) await this.pool.end();
  }
}

type Statement = [text: string, values: unknown[]];

/** Offsets, fenced by the batch's lease tokens when it has some. */
async function writeOffsets(client: Queryable, offsets: [number, number][], fence: ReadonlyMap<number, string> | undefined): Promise<void> {
  const partitions = offsets.map(([p]) => p);
  const next = offsets.map(([, n]) => n);
  if (!fence?.size) {
    await client.query('INSERT INTO offsets (partition, next_offset) SELECT * FROM unnest($1::integer[], $2::bigint[]) ON CONFLICT (partition) DO UPDATE SET next_offset = excluded.next_offset', [partitions, next]);
    return;
  }
  const { rows } = await client.query<{ partition: number }>(
    'UPDATE offsets o SET next_offset = t.n FROM unnest($1::integer[], $2::bigint[], $3::text[]) AS t(p, n, token) WHERE o.partition = t.p AND o.owner = t.token RETURNING o.partition',
    [partitions, next, partitions.map((p) => fence.get(p) ?? '')],
  );
  if (rows.length !== partitions.length) {
    const written = new Set(rows.map((r) => r.partition));
    throw new PartitionLostError(partitions.filter((p) => !written.has(p)));
  }
}

/** Last write wins within one commit, as the SQLite store's row-by-row statements behave. */
function lastByKey<T>(items: Iterable<T>, key: (t: T) => string): Map<string, T> {
  const out = new Map<string, T>();
  for (const item of items) {
    const k = key(item);
    out.delete(k); // keeps insertion order = order of the last occurrence
    out.set(k, item);
  }
  return out;
}

/** The statements of one commit but its offsets, in the order the SQLite store applies them. */
function commitStatements(batch: ProfileCommit): Statement[] {
  const out: Statement[] = [];
  const deletes = [...(batch.deleteClusters ?? [])];
  if (deletes.length) out.push(['DELETE FROM profiles WHERE id = ANY($1::text[])', [deletes]]);

  const clusters = lastByKey(batch.clusters ?? [], (c) => c.id);
  if (clusters.size) {
    const docs = [...clusters.values()].map((c) => JSON.stringify(c));
    out.push(['INSERT INTO profiles (id, doc) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc', [[...clusters.keys()], docs]]);
  }

  const nodes = lastByKey(batch.nodes ?? [], ([key]) => key);
  if (nodes.size) {
    out.push(['INSERT INTO identities (key, profile_id) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (key) DO UPDATE SET profile_id = excluded.profile_id', [[...nodes.keys()], [...nodes.values()].map(([, id]) => id)]]);
  }

  const edges = [...lastByKey(batch.edges ?? [], (e) => e.key).values()];
  if (edges.length) {
    out.push([
      'INSERT INTO edges (key, t, m, nodes) SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[]) ON CONFLICT (key) DO UPDATE SET t = excluded.t, m = excluded.m',
      [edges.map((e) => e.key), edges.map((e) => e.t), edges.map((e) => e.m), edges.map((e) => JSON.stringify(e.nodes))],
    ]);
  }

  const parts = lastByKey(batch.parts ?? [], (p) => p.id);
  if (parts.size) {
    out.push(['INSERT INTO parts (anchor, doc) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (anchor) DO UPDATE SET doc = excluded.doc', [[...parts.keys()], [...parts.values()].map((p) => JSON.stringify(p))]]);
  }

  // The shard: the lowest partition the batch consumed (a partition has one holder at a time).
  const partitions = [...(batch.offsets?.keys() ?? [])];
  out.push(...membershipStatements(batch.memberships ?? [], partitions.length ? Math.min(...partitions) : 0));

  const outbox = [...(batch.outbox ?? [])];
  if (outbox.length) out.push(['INSERT INTO outbox (payload) SELECT p FROM unnest($1::text[]) WITH ORDINALITY AS t(p, n) ORDER BY n', [outbox]]);

  const dead = [...(batch.deadLetters ?? [])];
  if (dead.length) {
    out.push([
      `INSERT INTO dead_letters (at, kind, name, reason, payload)
       SELECT at, kind, name, reason, payload FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS t(at, kind, name, reason, payload, n) ORDER BY n`,
      [dead.map((d) => d.at), dead.map((d) => d.kind), dead.map((d) => d.name), dead.map((d) => d.reason), dead.map((d) => d.payload)],
    ]);
  }

  if (batch.erase) {
    const e = batch.erase;
    for (const [table, column, values, type] of [['identities', 'key', e.nodes, 'text'], ['edges', 'key', e.edges, 'text'], ['parts', 'anchor', e.parts, 'text'], ['outbox', 'id', e.outbox, 'bigint'], ['dead_letters', 'id', e.deadLetters, 'bigint']] as const) {
      if (values.length) out.push([`DELETE FROM ${table} WHERE ${column} = ANY($1::${type}[])`, [values]]);
    }
  }
  const suppress = [...(batch.suppress ?? [])];
  if (suppress.length) out.push(['INSERT INTO suppressions (hash, at) SELECT h, $2 FROM unnest($1::text[]) AS t(h) ON CONFLICT DO NOTHING', [suppress, Date.now()]]);

  const seen = [...lastByKey(batch.seen?.messages ?? [], ([p, k]) => `${p}\u0000${k}`).values()];
  if (seen.length) {
    out.push(['INSERT INTO seen_messages (partition, key, at) SELECT p, k, $3 FROM unnest($1::integer[], $2::text[]) AS t(p, k) ON CONFLICT DO NOTHING', [seen.map(([p]) => p), seen.map(([, k]) => k), batch.seen!.at]]);
  }
  return out;
}

/**
 * Entries and exits in order, as set-based statements: per (audience, profile) the final state
 * decides. A member who entered again keeps the first `since`; one who left and came back within
 * the commit gets the new one.
 */
function membershipStatements(records: Iterable<MembershipRecord>, shard: number): Statement[] {
  const final = new Map<string, { audience: string; profileId: string; in: boolean; since: number; left: boolean }>();
  for (const r of records) {
    const k = `${r.audience}\u0000${r.profileId}`;
    const s = final.get(k) ?? { audience: r.audience, profileId: r.profileId, in: false, since: 0, left: false };
    if (r.kind === 'exited') Object.assign(s, { in: false, left: true });
    else if (!s.in) Object.assign(s, { in: true, since: r.at });
    final.set(k, s);
  }
  const remove = [...final.values()].filter((s) => s.left);
  const enter = [...final.values()].filter((s) => s.in);
  const out: Statement[] = [];
  // Each statement counts the rows it really changed into the audience's size.
  const count = (changed: string, sign: string) =>
    `INSERT INTO audience_counts (audience, shard, members) SELECT audience, ${shard}, ${sign}count(*) FROM ${changed} GROUP BY audience
     ON CONFLICT (audience, shard) DO UPDATE SET members = audience_counts.members + excluded.members`;
  if (remove.length) {
    out.push([
      `WITH gone AS (DELETE FROM audience_members m USING unnest($1::text[], $2::text[]) AS t(a, p) WHERE m.audience = t.a AND m.profile_id = t.p RETURNING m.audience) ${count('gone', '-')}`,
      [remove.map((s) => s.audience), remove.map((s) => s.profileId)],
    ]);
  }
  if (enter.length) {
    out.push([
      `WITH came AS (INSERT INTO audience_members (audience, profile_id, since) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) ON CONFLICT DO NOTHING RETURNING audience) ${count('came', '')}`,
      [enter.map((s) => s.audience), enter.map((s) => s.profileId), enter.map((s) => s.since)],
    ]);
  }
  return out;
}
