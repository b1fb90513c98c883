import { join } from 'node:path';
import type { Quarantine, QuarantineEntry, QuarantineFilter, QuarantinedEvent, Violation } from '../../ports/quarantine.js';
import { countByRule, rulesColumn, toQuarantined, type QuarantineRow } from '../quarantine-rows.js';
import type { SchemaRegistry, SchemaVersion } from '../../ports/schema-registry.js';
import type { ExpectationRuns, SuiteRun } from '../../ports/expectation-runs.js';
import { migrate, openSqlite, scrubSqlite, type SqliteDb } from './open.js';

const MIGRATIONS = [
  `CREATE TABLE schema_versions (id INTEGER PRIMARY KEY, subject TEXT NOT NULL, version INTEGER NOT NULL, schema TEXT NOT NULL,
                                 compatibility TEXT NOT NULL, created_at INTEGER NOT NULL, UNIQUE (subject, version));
   CREATE TABLE quarantine (id INTEGER PRIMARY KEY, received_at INTEGER NOT NULL, source_id TEXT NOT NULL, message_id TEXT NOT NULL,
                            subject TEXT NOT NULL, rules TEXT NOT NULL, violations TEXT NOT NULL, payload TEXT NOT NULL,
                            batch_sent_at TEXT, ip TEXT, replayed_at INTEGER);
   CREATE INDEX quarantine_pending ON quarantine (replayed_at, id);
   CREATE TABLE expectation_runs (id INTEGER PRIMARY KEY, suite TEXT NOT NULL, started_at INTEGER NOT NULL, run TEXT NOT NULL);
   CREATE INDEX expectation_runs_by_suite ON expectation_runs (suite, id);`,
];

/** quality.db: the tracking plan's schemas and the quarantine, in the data directory. */
function openQualityDb(dir: string): SqliteDb {
  // synchronous=FULL: a quarantined event is acknowledged to the client once committed here.
  const db = openSqlite(dir === ':memory:' ? ':memory:' : join(dir, 'quality.db'), { sync: 'full', cacheMb: 4 });
  migrate(db, MIGRATIONS);
  return db;
}

type VersionRow = { subject: string; version: number; schema: string; compatibility: SchemaVersion['compatibility']; created_at: number };
const toVersion = (r: VersionRow): SchemaVersion => ({ subject: r.subject, version: r.version, schema: JSON.parse(r.schema) as SchemaVersion['schema'], compatibility: r.compatibility, createdAt: r.created_at });

export class SqliteSchemaRegistry implements SchemaRegistry {
  private readonly db: SqliteDb;
  constructor(opts: { dir: string }) {
    this.db = openQualityDb(opts.dir);
  }

  async insert(v: SchemaVersion): Promise<boolean> {
    const r = this.db
      .prepare('INSERT OR IGNORE INTO schema_versions (subject, version, schema, compatibility, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(v.subject, v.version, JSON.stringify(v.schema), v.compatibility, v.createdAt);
    return r.changes === 1;
  }

  async versions(subject: string): Promise<SchemaVersion[]> {
    return (this.db.prepare('SELECT * FROM schema_versions WHERE subject = ? ORDER BY version').all(subject) as VersionRow[]).map(toVersion);
  }

  async latest(): Promise<SchemaVersion[]> {
    const rows = this.db.prepare('SELECT * FROM schema_versions s WHERE version = (SELECT max(version) FROM schema_versions WHERE subject = s.subject) ORDER BY subject').all() as VersionRow[];
    return rows.map(toVersion);
  }

  async revision(): Promise<number> {
    return (this.db.prepare('SELECT coalesce(max(id), 0) FROM schema_versions').pluck().get() as number) ?? 0;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

export class SqliteQuarantine implements Quarantine {
  private readonly db: SqliteDb;
  constructor(opts: { dir: string }) {
    this.db = openQualityDb(opts.dir);
  }

  async add(entries: readonly QuarantineEntry[]): Promise<void> {
    const insert = this.db.prepare(
      'INSERT INTO quarantine (received_at, source_id, message_id, subject, rules, violations, payload, batch_sent_at, ip) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.db.transaction(() => {
      for (const e of entries) insert.run(e.receivedAtMs, e.sourceId, e.messageId, e.subject, rulesColumn(e.violations), JSON.stringify(e.violations), e.payload, e.batchSentAt ?? null, e.ip ?? null);
    })();
  }

  async list(f: QuarantineFilter): Promise<QuarantinedEvent[]> {
    const status = f.status ?? 'pending';
    const rows = this.db
      .prepare(
        `SELECT * FROM quarantine WHERE id > ? ${status === 'pending' ? 'AND replayed_at IS NULL' : status === 'replayed' ? 'AND replayed_at IS NOT NULL' : ''}
         AND (? IS NULL OR rules LIKE '%,' || ? || ',%') AND (? IS NULL OR subject = ?) ORDER BY id LIMIT ?`,
      )
      .all(f.afterId ?? 0, f.rule ?? null, f.rule ?? null, f.subject ?? null, f.subject ?? null, f.limit) as QuarantineRow[];
    return rows.map(toQuarantined);
  }

  async get(id: number): Promise<QuarantinedEvent | undefined> {
    const row = this.db.prepare('SELECT * FROM quarantine WHERE id = ?').get(id) as QuarantineRow | undefined;
    return row && toQuarantined(row);
  }

  async setViolations(id: number, violations: readonly Violation[]): Promise<void> {
    this.db.prepare('UPDATE quarantine SET violations = ?, rules = ? WHERE id = ?').run(JSON.stringify(violations), rulesColumn(violations), id);
  }

  async remove(ids: readonly number[]): Promise<number> {
    const del = this.db.prepare('DELETE FROM quarantine WHERE id = ?');
    const n = this.db.transaction(() => ids.reduce((sum, id) => sum + del.run(id).changes, 0))();
    if (n) scrubSqlite(this.db);
    return n;
  }

  async markReplayed(ids: readonly number[], atMs: number): Promise<void> {
    const update = this.db.prepare('UPDATE quarantine SET replayed_at = ? WHERE id = ?');
    this.db.transaction(() => {
      for (const id of ids) update.run(atMs, id);
    })();
  }

  async pendingByRule(): Promise<Map<string, number>> {
    const rows = this.db.prepare('SELECT rules, count(*) AS n FROM quarantine WHERE replayed_at IS NULL GROUP BY rules').all() as { rules: string; n: number }[];
    return countByRule(rows);
  }

  async pendingBySubject(): Promise<Map<string, number>> {
    return new Map(this.db.prepare('SELECT subject, count(*) FROM quarantine WHERE replayed_at IS NULL GROUP BY subject ORDER BY subject').raw().all() as [string, number][]);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

export class SqliteExpectationRuns implements ExpectationRuns {
  private readonly db: SqliteDb;
  constructor(opts: { dir: string }) {
    this.db = openQualityDb(opts.dir);
  }

  async record(run: SuiteRun): Promise<void> {
    this.db.prepare('INSERT INTO expectation_runs (suite, started_at, run) VALUES (?, ?, ?)').run(run.suite, run.startedAt, JSON.stringify(run));
  }

  async history(suite: string | undefined, limit: number): Promise<SuiteRun[]> {
    const rows = this.db.prepare('SELECT run FROM expectation_runs WHERE (? IS NULL OR suite = ?) ORDER BY id DESC LIMIT ?').pluck().all(suite ?? null, suite ?? null, limit) as string[];
    return rows.map((r) => JSON.parse(r) as SuiteRun);
  }

  async latest(): Promise<SuiteRun[]> {
    const rows = this.db.prepare('SELECT run FROM expectation_runs WHERE id IN (SELECT max(id) FROM expectation_runs GROUP BY suite) ORDER BY suite').pluck().all() as string[];
    return rows.map((r) => JSON.parse(r) as SuiteRun);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
