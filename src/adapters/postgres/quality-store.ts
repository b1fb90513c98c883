import type pg from 'pg';
import type { Quarantine, QuarantineEntry, QuarantineFilter, QuarantinedEvent, Violation } from '../../ports/quarantine.js';
import type { SchemaRegistry, SchemaVersion } from '../../ports/schema-registry.js';
import type { ExpectationRuns, SuiteRun } from '../../ports/expectation-runs.js';
import { countByRule, rulesColumn, toQuarantined, type QuarantineRow } from '../quarantine-rows.js';
import { openMigratedPool } from './pool.js';

export interface PostgresQualityOptions {
  url: string;
  schema: string;
}

type VersionRow = { subject: string; version: number; schema: string; compatibility: SchemaVersion['compatibility']; created_at: string };
const toVersion = (r: VersionRow): SchemaVersion => ({ subject: r.subject, version: r.version, schema: JSON.parse(r.schema) as SchemaVersion['schema'], compatibility: r.compatibility, createdAt: Number(r.created_at) });

/** The tracking plan shared by every collector of a deployment. */
export class PostgresSchemaRegistry implements SchemaRegistry {
  private constructor(private readonly pool: pg.Pool) {}

  static async open(opts: PostgresQualityOptions): Promise<PostgresSchemaRegistry> {
    return new PostgresSchemaRegistry(await openMigratedPool(opts, 'mosaic-schemas'));
  }

  async insert(v: SchemaVersion): Promise<boolean> {
    const r = await this.pool.query(
      'INSERT INTO schema_versions (subject, version, schema, compatibility, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (subject, version) DO NOTHING',
      [v.subject, v.version, JSON.stringify(v.schema), v.compatibility, v.createdAt],
    );
    return r.rowCount === 1;
  }

  async versions(subject: string): Promise<SchemaVersion[]> {
    return (await this.pool.query<VersionRow>('SELECT * FROM schema_versions WHERE subject = $1 ORDER BY version', [subject])).rows.map(toVersion);
  }

  async latest(): Promise<SchemaVersion[]> {
    const { rows } = await this.pool.query<VersionRow>('SELECT DISTINCT ON (subject) * FROM schema_versions ORDER BY subject, version DESC');
    return rows.map(toVersion);
  }

  async revision(): Promise<number> {
    const { rows } = await this.pool.query<{ r: string }>('SELECT coalesce(max(id), 0) AS r FROM schema_versions');
    return Number(rows[0]!.r);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** Quarantined events of every collector, in one table. */
export class PostgresQuarantine implements Quarantine {
  private constructor(private readonly pool: pg.Pool) {}

  static async open(opts: PostgresQualityOptions): Promise<PostgresQuarantine> {
    return new PostgresQuarantine(await openMigratedPool(opts, 'mosaic-quarantine'));
  }

  async add(entries: readonly QuarantineEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const cols = (f: (e: QuarantineEntry) => unknown) => entries.map(f);
    await this.pool.query(
      `INSERT INTO quarantine (received_at, source_id, message_id, subject, rules, violations, payload, batch_sent_at, ip)
       SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])`,
      [
        cols((e) => e.receivedAtMs), cols((e) => e.sourceId), cols((e) => e.messageId), cols((e) => e.subject), cols((e) => rulesColumn(e.violations)),
        cols((e) => JSON.stringify(e.violations)), cols((e) => e.payload), cols((e) => e.batchSentAt ?? null), cols((e) => e.ip ?? null),
      ],
    );
  }

  async list(f: QuarantineFilter): Promise<QuarantinedEvent[]> {
    const status = f.status ?? 'pending';
    const { rows } = await this.pool.query<QuarantineRow>(
      `SELECT * FROM quarantine WHERE id > $1 ${status === 'pending' ? 'AND replayed_at IS NULL' : status === 'replayed' ? 'AND replayed_at IS NOT NULL' : ''}
       AND ($2::text IS NULL OR rules LIKE '%,' || $2 || ',%') AND ($3::text IS NULL OR subject = $3) ORDER BY id LIMIT $4`,
      [f.afterId ?? 0, f.rule ?? null, f.subject ?? null, f.limit],
    );
    return rows.map(toQuarantined);
  }

  async get(id: number): Promise<QuarantinedEvent | undefined> {
    const { rows } = await this.pool.query<QuarantineRow>('SELECT * FROM quarantine WHERE id = $1', [id]);
    return rows[0] && toQuarantined(rows[0]);
  }

  async setViolations(id: number, violations: readonly Violation[]): Promise<void> {
    await this.pool.query('UPDATE quarantine SET violations = $1, rules = $2 WHERE id = $3', [JSON.stringify(violations), rulesColumn(violations), id]);
  }

  async remove(ids: readonly number[]): Promise<number> {
    return (await this.pool.query('DELETE FROM quarantine WHERE id = ANY($1::bigint[])', [ids])).rowCount ?? 0;
  }

  async markReplayed(ids: readonly number[], atMs: number): Promise<void> {
    await this.pool.query('UPDATE quarantine SET replayed_at = $1 WHERE id = ANY($2::bigint[])', [atMs, ids]);
  }

  async pendingByRule(): Promise<Map<string, number>> {
    const { rows } = await this.pool.query<{ rules: string; n: string }>('SELECT rules, count(*) AS n FROM quarantine WHERE replayed_at IS NULL GROUP BY rules');
    return countByRule(rows);
  }

  async pendingBySubject(): Promise<Map<string, number>> {
    const { rows } = await this.pool.query<{ subject: string; n: string }>('SELECT subject, count(*) AS n FROM quarantine WHERE replayed_at IS NULL GROUP BY subject ORDER BY subject');
    return new Map(rows.map((r) => [r.subject, Number(r.n)]));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** Expectation runs of every process (CLI, schedulers) in one table. */
export class PostgresExpectationRuns implements ExpectationRuns {
  private constructor(private readonly pool: pg.Pool) {}

  static async open(opts: PostgresQualityOptions): Promise<PostgresExpectationRuns> {
    return new PostgresExpectationRuns(await openMigratedPool(opts, 'mosaic-expectations'));
  }

  async record(run: SuiteRun): Promise<void> {
    await this.pool.query('INSERT INTO expectation_runs (suite, started_at, run) VALUES ($1, $2, $3)', [run.suite, run.startedAt, JSON.stringify(run)]);
  }

  async history(suite: string | undefined, limit: number): Promise<SuiteRun[]> {
    const { rows } = await this.pool.query<{ run: string }>('SELECT run FROM expectation_runs WHERE ($1::text IS NULL OR suite = $1) ORDER BY id DESC LIMIT $2', [suite ?? null, limit]);
    return rows.map((r) => JSON.parse(r.run) as SuiteRun);
  }

  async latest(): Promise<SuiteRun[]> {
    const { rows } = await this.pool.query<{ run: string }>('SELECT DISTINCT ON (suite) run FROM expectation_runs ORDER BY suite, id DESC');
    return rows.map((r) => JSON.parse(r.run) as SuiteRun);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
