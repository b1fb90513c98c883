import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';
import type { PartitionLeases } from '../../ports/partition-leases.js';

export interface PostgresLeasesOptions {
  url: string;
  schema: string;
  partitions: number;
  /** How often holdings are rebalanced and orphaned partitions taken over. */
  intervalMs?: number;
  onError?: (err: unknown) => void;
}

/**
 * Partition leases from PostgreSQL session-level advisory locks, on a connection of their own:
 * a lock lives exactly as long as its holder's session, so a processor that dies (even by
 * kill -9) releases its partitions as soon as the server notices the closed socket, and the
 * others take them over at their next tick. Live processors are counted the same way (each
 * holds a membership lock), so each takes a fair share: ceil(partitions / processors).
 *
 * Taking a partition also writes a fresh token on its offsets row; a batch commits with the
 * tokens it started with and is refused if a row holds another one (PostgresProfileStore:
 * fencing), so a processor that lost a partition — even one it has taken back since — cannot
 * commit a batch of it twice.
 */
export class PostgresPartitionLeases implements PartitionLeases {
  readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private session: pg.Client | undefined;
  private readonly holding = new Set<number>();
  private readonly tokenOf = new Map<number, string>();
  private acquisitions = 0;
  private timer: NodeJS.Timeout | undefined;
  private onChange: () => void = () => undefined;
  private ticking: Promise<void> | undefined;
  private readonly partitionClass: string;
  private readonly memberClass: string;

  constructor(private readonly opts: PostgresLeasesOptions) {
    this.partitionClass = `mosaic:partitions:${opts.schema}`;
    this.memberClass = `mosaic:processors:${opts.schema}`;
  }

  held(): ReadonlySet<number> {
    return this.holding;
  }

  tokens(): ReadonlyMap<number, string> {
    return this.tokenOf;
  }

  async start(onChange: () => void): Promise<void> {
    this.onChange = onChange;
    await this.tick();
    this.timer = setInterval(() => {
      if (this.ticking) return;
      this.ticking = this.tick()
        .catch((err: unknown) => this.opts.onError?.(err))
        .finally(() => (this.ticking = undefined));
    }, this.opts.intervalMs ?? 1000);
    this.timer.unref();
  }

  private async connect(): Promise<pg.Client> {
    const session = new pg.Client({ connectionString: this.opts.url, options: `-c search_path=${this.opts.schema}`, application_name: `mosaic processor ${this.owner}` });
    session.on('error', (err) => this.lost(session, err));
    session.on('end', () => this.lost(session));
    await session.connect();
    await session.query('SELECT pg_advisory_lock(hashtext($1), hashtext($2))', [this.memberClass, this.owner]);
    this.session = session;
    return session;
  }

  /** The session ended: its locks are gone, so is everything held. */
  private lost(session: pg.Client, err?: unknown): void {
    if (this.session !== session) return;
    this.session = undefined;
    if (err) this.opts.onError?.(err);
    if (this.holding.size) {
      this.holding.clear();
      this.tokenOf.clear();
      this.onChange();
    }
  }

  private async tick(): Promise<void> {
    const session = this.session ?? (await this.connect());
    const { rows } = await session.query<{ n: string }>(
      // pg_locks spans the whole server: only this database's processors count.
      `SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid::int = hashtext($1) AND objsubid = 2
       AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [this.memberClass],
    );
    const live = Math.max(1, Number(rows[0]!.n));
    const fair = Math.ceil(this.opts.partitions / live);
    let changed = false;
    // Give back the highest partitions beyond a fair share: a processor that joined takes them.
    for (const p of [...this.holding].sort((a, b) => b - a)) {
      if (this.holding.size <= fair) break;
      await session.query('SELECT pg_advisory_unlock(hashtext($1), $2)', [this.partitionClass, p]);
      this.holding.delete(p);
      this.tokenOf.delete(p);
      changed = true;
    }
    // Start the search at a different place per holder, so joiners do not all race for partition 0.
    const start = Number.parseInt(this.owner.slice(-8), 16) % this.opts.partitions;
    for (let i = 0; i < this.opts.partitions && this.holding.size < fair; i++) {
      const p = (start + i) % this.opts.partitions;
      if (this.holding.has(p)) continue;
      const got = await session.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1), $2) AS ok', [this.partitionClass, p]);
      if (!got.rows[0]!.ok) continue;
      // A token per acquisition, not per holder: losing a partition and taking it back must
      // still refuse a batch begun before the loss.
      const token = `${this.owner}/${++this.acquisitions}`;
      await session.query('INSERT INTO offsets (partition, next_offset, owner) VALUES ($1, 1, $2) ON CONFLICT (partition) DO UPDATE SET owner = excluded.owner', [p, token]);
      this.holding.add(p);
      this.tokenOf.set(p, token);
      changed = true;
    }
    if (changed) this.onChange();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.ticking;
    const session = this.session;
    this.session = undefined;
    this.holding.clear();
    this.tokenOf.clear();
    // Ending the session releases every lock at once.
    await session?.end().catch(() => undefined);
  }
}
