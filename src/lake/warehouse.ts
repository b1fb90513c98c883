import { StatementType, type DuckDBConnection } from '@duckdb/node-api';
import { openDuckDb, sqlString } from '../adapters/duckdb/duckdb.js';
import { MosaicError } from '../errors.js';
import { readManifest } from './manifest.js';
import { COLUMNS } from './offload.js';
import { hasSnapshot, SNAPSHOT_INPUTS, SNAPSHOT_TABLES, snapshotFile, type SnapshotTable } from './snapshot.js';

/**
 * A small star schema over the events and the profile snapshot: one fact row per event with the
 * profile it belongs to (through its user or anonymous id) and its date; a row per profile; a
 * row per day the events span.
 */
const STAR_SCHEMA = `
CREATE VIEW dim_users AS
  SELECT p.profile_id, u.user_id, p.first_seen, p.last_seen, p.event_count, p.session_count, p.traits, p.computed_traits
  FROM profiles p LEFT JOIN (SELECT profile_id, min(id) AS user_id FROM identities WHERE type = 'user_id' GROUP BY ALL) u USING (profile_id);
CREATE VIEW fact_events AS
  SELECT e.message_id, coalesce(u.profile_id, a.profile_id) AS profile_id, e.event_date AS date_key, e.type, e.event, e.name,
         e."timestamp", e.source_id, e.properties, e.log_partition, e.log_offset
  FROM events e
  LEFT JOIN identities u ON u.type = 'user_id' AND u.id = e.user_id
  LEFT JOIN identities a ON a.type = 'anonymous_id' AND a.id = e.anonymous_id AND u.profile_id IS NULL;
CREATE VIEW experiment_exposures AS
  SELECT properties->>'experiment_id' AS experiment, properties->>'variant_name' AS variant, properties->>'placement' AS placement,
         properties->>'profile_id' AS profile_id, user_id, anonymous_id, coalesce(user_id, anonymous_id) AS person, "timestamp" AS exposed_at
  FROM events WHERE type = 'track' AND event = 'Experiment Viewed' AND source_id = 'mosaic:experiments';
CREATE VIEW dim_date AS
  SELECT d::DATE AS date_key, year(d) AS year, quarter(d) AS quarter, month(d) AS month, day(d) AS day,
         isodow(d) AS iso_day_of_week, strftime(d, '%Y-%m') AS year_month, isodow(d) >= 6 AS weekend
  FROM generate_series((SELECT min(event_date) FROM events)::TIMESTAMP, (SELECT max(event_date) FROM events)::TIMESTAMP, INTERVAL 1 DAY) AS t(d)`;

/** Every table and view a warehouse query sees. */
export const WAREHOUSE_TABLES: readonly string[] = ['events', ...Object.keys(SNAPSHOT_TABLES), 'fact_events', 'dim_users', 'dim_date', 'experiment_exposures'];

/** The snapshot's tables as views: over its Parquet files, or empty with the same columns before the first snapshot. */
async function createProfileViews(db: DuckDBConnection, lakeDir: string): Promise<void> {
  await db.run(SNAPSHOT_INPUTS);
  for (const table of Object.keys(SNAPSHOT_TABLES) as SnapshotTable[]) {
    await db.run(
      hasSnapshot(lakeDir, table)
        ? `CREATE VIEW ${table} AS SELECT * FROM read_parquet(${sqlString(snapshotFile(lakeDir, table))})`
        : `CREATE VIEW ${table} AS ${SNAPSHOT_TABLES[table]}`,
    );
  }
}

export interface QueryResult {
  columns: string[];
  /** Values as JSON: BIGINT, DECIMAL and timestamps as strings, JSON and nested types as JSON values. */
  rows: unknown[][];
}

/**
 * DuckDB over the lake, read-only: `events` over the files the manifest names, the profile
 * snapshot's tables, a star schema over both (fact_events, dim_users, dim_date), then the
 * configuration locked with file access limited to the lake (and, for a Parquet export, the
 * one file asked for). Only a single SELECT (or EXPLAIN) is run.
 */
export class Warehouse {
  private constructor(
    private readonly db: DuckDBConnection,
    private readonly closeDb: () => void,
  ) {}

  static async open(lakeDir: string, opts: { writableFile?: string } = {}): Promise<Warehouse> {
    const { connection: db, close } = await openDuckDb();
    try {
      const files = readManifest(lakeDir).files.map((f) => `${lakeDir}/${f.path}`);
      await db.run(
        files.length
          ? `CREATE VIEW events AS SELECT * FROM read_parquet([${files.map(sqlString).join(', ')}], hive_partitioning = true, union_by_name = true)`
          : // No file yet: the same columns, no rows.
            `CREATE VIEW events AS SELECT ${COLUMNS}, NULL::DATE AS event_date, NULL::VARCHAR AS event_type FROM (SELECT NULL::JSON AS j, NULL::INTEGER AS p, NULL::BIGINT AS o) WHERE false`,
      );
      await createProfileViews(db, lakeDir);
      await db.run(STAR_SCHEMA);
      await db.run(`SET allowed_directories = [${sqlString(lakeDir.endsWith('/') ? lakeDir : `${lakeDir}/`)}]`);
      if (opts.writableFile) await db.run(`SET allowed_paths = [${sqlString(opts.writableFile)}]`);
      await db.run('SET enable_external_access = false');
      await db.run('SET lock_configuration = true');
    } catch (err) {
      close();
      throw err;
    }
    return new Warehouse(db, close);
  }

  /** One read-only statement's result. */
  async query(sql: string): Promise<QueryResult> {
    const prepared = await this.readOnly(sql);
    try {
      const reader = await prepared.runAndReadAll();
      // JSON columns (properties, traits, context) as JSON values, not as text holding JSON.
      const json = reader.columnTypes().map((t) => t.alias === 'JSON');
      const rows = reader.getRowsJson().map((row) => row.map((v, i) => (json[i] && typeof v === 'string' ? (JSON.parse(v) as unknown) : v)));
      return { columns: reader.columnNames(), rows };
    } catch (err) {
      throw new MosaicError('MOSAIC_SQL_FAILED', { message: (err as Error).message });
    }
  }

  /** Writes one read-only statement's result to a Parquet file (the one named at open). */
  async exportParquet(sql: string, file: string): Promise<void> {
    await this.readOnly(sql);
    await this.db.run(`COPY (${sql.trim().replace(/;\s*$/, '')}) TO ${sqlString(file)} (FORMAT parquet, COMPRESSION zstd)`);
  }

  private async readOnly(sql: string) {
    let statements;
    try {
      statements = await this.db.extractStatements(sql);
    } catch (err) {
      throw new MosaicError('MOSAIC_SQL_INVALID', { message: (err as Error).message });
    }
    if (statements.count !== 1) throw new MosaicError('MOSAIC_SQL_INVALID', { message: `Send exactly one statement (got ${statements.count}).` });
    let prepared;
    try {
      prepared = await statements.prepare(0);
    } catch (err) {
      // A write that cannot even be planned here (DELETE FROM a view) is still a write.
      if (!/^\s*explain\b/i.test(sql) && !(await this.parsesAsSelect(sql))) {
        throw new MosaicError('MOSAIC_SQL_READ_ONLY', { message: 'Only SELECT (and EXPLAIN) statements run against the warehouse: it is read-only.' });
      }
      throw new MosaicError('MOSAIC_SQL_INVALID', { message: (err as Error).message });
    }
    if (prepared.statementType !== StatementType.SELECT && prepared.statementType !== StatementType.EXPLAIN) {
      throw new MosaicError('MOSAIC_SQL_READ_ONLY', { message: `Only SELECT (and EXPLAIN) statements run here; this one is ${StatementType[prepared.statementType]}.` });
    }
    return prepared;
  }

  /** Stops the running query (it fails with MOSAIC_SQL_FAILED). */
  interrupt(): void {
    this.db.interrupt();
  }

  /** DuckDB's own parser: json_serialize_sql serializes SELECT statements only (and reports a syntax error as such). */
  private async parsesAsSelect(sql: string): Promise<boolean> {
    const r = await this.db.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [sql]);
    const out = JSON.parse(String(r.getRowsJson()[0]![0])) as { error: boolean; error_type?: string };
    return !out.error || out.error_type !== 'not implemented';
  }

  close(): void {
    this.closeDb();
  }
}
