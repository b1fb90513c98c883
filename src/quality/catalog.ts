import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { backends } from '../adapters/from-config.js';
import type { Config } from '../config.js';
import { readManifest } from '../lake/manifest.js';
import { Offloader } from '../lake/offload.js';
import { hasSnapshot, snapshotFile, SNAPSHOT_TABLES, type SnapshotTable } from '../lake/snapshot.js';
import { importHistory } from '../lake/imports/run-import.js';
import { Warehouse } from '../lake/warehouse.js';
import type { EventLog } from '../ports/event-log.js';
import type { ExpectationRuns } from '../ports/expectation-runs.js';
import type { JobRuns } from '../ports/job-runs.js';
import type { ProfileStore } from '../ports/profile-store.js';
import type { Quarantine } from '../ports/quarantine.js';
import type { SchemaRegistry } from '../ports/schema-registry.js';

/**
 * The data catalog: every dataset Mosaic holds or produces, read from the running system — the
 * log's ends, the lake's manifest and files, the warehouse's views, the stores' counts, the
 * configured imports, jobs and sources — never written by hand. Only owners come from the
 * configuration (catalog.owners), since nothing else can say who owns what.
 */

export interface CatalogColumn {
  name: string;
  type: string;
  personal: boolean;
}

export interface Dataset {
  /** kind:name, e.g. log:events, lake:events, warehouse:fact_events, store:profiles, import:crm, feature:rfm. */
  id: string;
  kind: 'source' | 'log' | 'lake' | 'warehouse' | 'store' | 'import' | 'feature' | 'quarantine' | 'registry';
  description: string;
  /** Where it lives (a path, a stream, a table). */
  location: string;
  engine: string;
  owner: string;
  schema?: { columns: CatalogColumn[]; version?: string };
  rows?: number;
  freshness?: { updatedAt?: string; lagEvents?: number };
  retention: string;
  /** Columns holding personal data (identifiers, traits, IP addresses, free text). */
  personalData: string[];
  lineage: { from: string[]; by: string };
  /** The latest expectation results over it, when a suite checks it. */
  quality?: { suite: string; status: string; at: string }[];
}

export interface CatalogDeps {
  config: Config;
  log: EventLog;
  store: ProfileStore;
  sources: readonly { id: string; name: string }[];
  registry?: SchemaRegistry;
  quarantine?: Quarantine;
  expectationRuns?: ExpectationRuns;
  jobRuns?: JobRuns;
}

/** Columns that identify or describe a person, by name, in every table Mosaic writes. */
const PERSONAL = new Set(['user_id', 'anonymous_id', 'previous_id', 'id', 'traits', 'context', 'properties', 'computed_traits', 'landing_page', 'referrer', 'campaign']);
/** Envelope fields in the log, as the collector writes them. */
const LOG_FIELDS: [string, string][] = [
  ['type', 'string'], ['messageId', 'string'], ['userId', 'string'], ['anonymousId', 'string'], ['previousId', 'string'], ['groupId', 'string'],
  ['event', 'string'], ['name', 'string'], ['timestamp', 'ISO-8601'], ['originalTimestamp', 'ISO-8601'], ['sentAt', 'ISO-8601'], ['receivedAt', 'ISO-8601'],
  ['sourceId', 'string'], ['properties', 'object'], ['traits', 'object'], ['context', 'object'],
];
const LOG_PERSONAL = new Set(['userId', 'anonymousId', 'previousId', 'properties', 'traits', 'context']);

/** A connection URL as the catalog shows it: without its password or token. */
function withoutSecret(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    else if (u.username && u.protocol === 'nats:') u.username = '***'; // a NATS token is the user part
    return u.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const mtime = (file: string) => (existsSync(file) ? statSync(file).mtimeMs : undefined);

function personalOf(columns: readonly CatalogColumn[]): string[] {
  return columns.filter((c) => c.personal).map((c) => c.name);
}

async function describe(w: Warehouse | undefined, table: string): Promise<CatalogColumn[]> {
  if (!w) return [];
  const rows = (await w.query(`SELECT column_name, column_type FROM (DESCRIBE ${table})`)).rows as [string, string][];
  return rows.map(([name, type]) => ({ name, type, personal: PERSONAL.has(name) }));
}

async function count(w: Warehouse | undefined, table: string): Promise<number | undefined> {
  if (!w) return undefined;
  return Number((await w.query(`SELECT count(*) FROM ${table}`)).rows[0]![0]);
}

export async function buildCatalog(deps: CatalogDeps): Promise<Dataset[]> {
  const { config } = deps;
  const lakeDir = config.lake.dir!;
  const owner = (id: string) => config.catalog.owners[id] ?? config.catalog.defaultOwner;
  const engines = backends(config);
  const out: Dataset[] = [];
  const add = (d: Omit<Dataset, 'owner' | 'personalData'> & { personalData?: string[] }) =>
    out.push({ ...d, owner: owner(d.id), personalData: d.personalData ?? personalOf(d.schema?.columns ?? []) });

  const importIds = config.imports.map((i) => `import:${i.name}`);
  const featureIds = ['feature:rfm', 'feature:clusters'];

  // Sources: where events come from.
  for (const s of deps.sources) {
    add({ id: `source:${s.name}`, kind: 'source', description: `events sent with the write key of source ${s.name} (${s.id})`, location: 'the tracking API', engine: 'http', retention: 'not kept: events go to the log', lineage: { from: [], by: 'your SDKs' } });
  }

  // The log.
  const ends = await deps.log.endOffsets();
  const stride = deps.log.capabilities.offsetStride;
  // Offsets start at 1: a partition whose next offset is n holds n - 1 events.
  const appended = ends.reduce((a, b) => a + Math.max(0, b - 1), 0);
  const plan = deps.registry ? await deps.registry.latest() : [];
  const logColumns = LOG_FIELDS.map(([name, type]) => ({ name, type, personal: LOG_PERSONAL.has(name) }));
  add({
    id: 'log:events',
    kind: 'log',
    description: `every accepted event, in ${deps.log.partitions} partitions: the source of truth that profiles, the lake and destinations are built from`,
    location: engines.log === 'nats' ? `${withoutSecret(config.log.url!)} stream ${config.log.nats.stream}` : join(config.dataDir, 'log.db'),
    engine: engines.log === 'nats' ? 'NATS JetStream' : 'SQLite',
    schema: { columns: logColumns, version: plan.length ? plan.map((v) => `${v.subject}@${v.version}`).join(', ') : 'no tracking plan' },
    ...(stride === 1 ? { rows: appended } : {}),
    retention: engines.log === 'nats' ? 'the stream\'s limits (see docs/deployment.md)' : 'kept until removed by hand (the lake holds the history)',
    lineage: { from: [...deps.sources.map((s) => `source:${s.name}`), ...importIds, ...featureIds, 'quarantine:events'], by: 'collector (tracking API), imports, audience and batch-feature write-back, quarantine replay' },
  });

  // The lake and the warehouse views over it.
  const manifest = readManifest(lakeDir);
  let w: Warehouse | undefined;
  try {
    w = await Warehouse.open(lakeDir);
  } catch {
    w = undefined; // no lake yet, or DuckDB unavailable: the catalog still lists what it can
  }
  try {
    const lakeRows = manifest.files.reduce((a, f) => a + f.rows, 0);
    const lag = await new Offloader(deps.log, { lakeDir, chunkEvents: config.lake.chunkEvents }).lag();
    const eventsColumns = await describe(w, 'events');
    const retention = Object.entries(config.lake.retentionDays).map(([t, d]) => `${t}: ${d} days`).join(', ') || 'forever';
    const manifestAt = mtime(join(lakeDir, '_mosaic', 'manifest.json'));
    add({
      id: 'lake:events',
      kind: 'lake',
      description: `the log as Parquet files in a Hive layout (event_date, event_type), ${manifest.files.length} files`,
      location: join(lakeDir, 'events'),
      engine: 'Parquet',
      schema: { columns: eventsColumns },
      rows: lakeRows,
      freshness: { ...(manifestAt ? { updatedAt: iso(manifestAt)! } : {}), lagEvents: lag },
      retention,
      lineage: { from: ['log:events'], by: `offload (every ${config.lake.offloadIntervalSeconds} s)` },
    });
    for (const table of Object.keys(SNAPSHOT_TABLES) as SnapshotTable[]) {
      const file = snapshotFile(lakeDir, table);
      const columns = await describe(w, table);
      add({
        id: `lake:${table}`,
        kind: 'lake',
        description: `the profile snapshot's ${table}`,
        location: file,
        engine: 'Parquet',
        schema: { columns },
        ...(hasSnapshot(lakeDir, table) ? { rows: await count(w, table), freshness: { updatedAt: iso(mtime(file))! } } : { rows: 0 }),
        retention: 'replaced whole by each snapshot',
        lineage: { from: ['store:profiles'], by: `snapshot (every ${config.lake.snapshotIntervalSeconds} s)` },
      });
    }
    const views: [string, string, string[]][] = [
      ['events', 'the events view: every lake file the manifest names', ['lake:events']],
      ['profiles', 'the profiles view over the snapshot', ['lake:profiles']],
      ['identities', 'the identities view over the snapshot', ['lake:identities']],
      ['sessions', 'the sessions view over the snapshot', ['lake:sessions']],
      ['audience_memberships', 'the audience memberships view over the snapshot', ['lake:audience_memberships']],
      ['fact_events', 'star schema: one row per event with its profile and date', ['lake:events', 'lake:identities']],
      ['dim_users', 'star schema: one row per profile with its user id', ['lake:profiles', 'lake:identities']],
      ['dim_date', 'star schema: one row per day the events span', ['lake:events']],
      ['experiment_exposures', 'one row per experiment exposure (Experiment Viewed from POST /v1/decide): experiment, variant, person', ['lake:events']],
    ];
    for (const [view, description, from] of views) {
      add({ id: `warehouse:${view}`, kind: 'warehouse', description, location: `DuckDB view ${view}`, engine: 'DuckDB', schema: { columns: await describe(w, view) }, retention: 'a view: as its inputs', lineage: { from, by: 'warehouse (mosaic sql, POST /v1/sql)' } });
    }
  } finally {
    w?.close();
  }

  // The profile store.
  const storeAt = engines.store === 'postgres' ? `${withoutSecret(config.store.url!)} schema ${config.store.schema}` : join(config.dataDir, 'profiles.db');
  const storeEngine = engines.store === 'postgres' ? 'PostgreSQL' : 'SQLite';
  const audienceCounts = await deps.store.audienceCounts();
  add({
    id: 'store:profiles',
    kind: 'store',
    description: 'unified profiles: identity graph, traits, computed traits, sessions, counters',
    location: storeAt,
    engine: storeEngine,
    schema: { columns: [['id', 'string'], ['identities', 'list'], ['traits', 'object'], ['computedTraits', 'object'], ['sessions', 'object'], ['eventCount', 'integer']].map(([name, type]) => ({ name: name!, type: type!, personal: ['identities', 'traits', 'computedTraits', 'sessions'].includes(name!) })) },
    rows: await deps.store.countProfiles(),
    retention: `rebuilt from the log by mosaic replay; sessions kept ${config.sessions.retainDays} days`,
    lineage: { from: ['log:events'], by: 'processor' },
  });
  add({
    id: 'store:audience_members',
    kind: 'store',
    description: `membership of ${config.audiences.length} audiences`,
    location: storeAt,
    engine: storeEngine,
    schema: { columns: [{ name: 'audience', type: 'string', personal: false }, { name: 'profile_id', type: 'string', personal: true }, { name: 'since', type: 'timestamp', personal: false }] },
    rows: [...audienceCounts.values()].reduce((a, b) => a + b, 0),
    retention: 'while the person matches the rule',
    lineage: { from: ['store:profiles'], by: 'processor (audience rules, timer)' },
  });

  // Imports and batch features.
  for (const imp of config.imports) {
    const [last] = importHistory(join(config.dataDir, 'imports'), imp.name, 1);
    const from = imp.source.kind === 'postgres' ? `${imp.source.kind}:${imp.source.table}` : imp.source.kind === 'http' ? `http:${imp.source.url}` : `${imp.source.kind}:${imp.source.file}`;
    add({
      id: `import:${imp.name}`,
      kind: 'import',
      description: `${imp.mapping.type} events from ${from}${imp.incremental ? `, incremental on ${imp.incremental.field}` : ''}`,
      location: from,
      engine: imp.source.kind,
      ...(last?.summary ? { rows: last.summary.accepted } : {}),
      ...(last ? { freshness: { updatedAt: last.finished ?? last.started } } : {}),
      retention: 'not kept: rows go to the log',
      personalData: [imp.mapping.userId, imp.mapping.anonymousId, ...(Array.isArray(imp.mapping.traits) ? imp.mapping.traits : Object.values(imp.mapping.traits ?? {}))].filter((x): x is string => typeof x === 'string'),
      lineage: { from: [from], by: `mosaic import run ${imp.name}` },
    });
  }
  const lastRun = async (kind: string) => {
    const jobs = config.schedules.filter((s) => s.job.kind === kind).map((s) => s.name);
    for (const j of jobs) {
      const [r] = (await deps.jobRuns?.history(j, 1)) ?? [];
      if (r) return r;
    }
    return undefined;
  };
  for (const [name, traits, description] of [
    ['rfm', 'rfm_recency_days, rfm_frequency, rfm_monetary, rfm_score, rfm_segment', 'RFM quintile scores and segments'],
    ['clusters', 'behavior_cluster', 'behavioural clusters (k-means or DBSCAN)'],
  ] as const) {
    const run = await lastRun(name);
    add({
      id: `feature:${name}`,
      kind: 'feature',
      description: `${description}, written back to profiles as traits (${traits})`,
      location: 'profile traits, through the log (source mosaic:batch)',
      engine: 'DuckDB',
      ...(run ? { rows: run.rows, freshness: { updatedAt: iso(run.finishedAt)! } } : {}),
      retention: 'as profile traits',
      personalData: traits.split(', '),
      lineage: { from: ['warehouse:fact_events', 'warehouse:dim_users'], by: `job ${name}${config.schedules.some((s) => s.job.kind === name) ? ' (scheduled)' : ' (not scheduled)'}` },
    });
  }

  // Quality datasets.
  if (deps.quarantine) {
    const pending = await deps.quarantine.pendingByRule();
    add({
      id: 'quarantine:events',
      kind: 'quarantine',
      description: `events held back by the tracking plan; pending by rule: ${[...pending].map(([r, n]) => `${r} ${n}`).join(', ') || 'none'}`,
      location: engines.store === 'postgres' ? `${storeAt} table quarantine` : join(config.dataDir, 'quality.db'),
      engine: storeEngine,
      schema: { columns: [['received_at', 'timestamp'], ['source_id', 'string'], ['message_id', 'string'], ['subject', 'string'], ['violations', 'list'], ['payload', 'object']].map(([name, type]) => ({ name: name!, type: type!, personal: name === 'payload' })) },
      retention: 'until replayed or erased',
      lineage: { from: deps.sources.map((s) => `source:${s.name}`), by: 'collector (tracking-plan policy quarantine)' },
    });
  }
  if (deps.registry) {
    add({
      id: 'registry:schemas',
      kind: 'registry',
      description: `the tracking plan: ${plan.length} subjects`,
      location: engines.store === 'postgres' ? `${storeAt} table schema_versions` : join(config.dataDir, 'quality.db'),
      engine: storeEngine,
      schema: { columns: [], version: String(await deps.registry.revision()) },
      rows: plan.length,
      retention: 'every version, forever',
      personalData: [],
      lineage: { from: [], by: 'mosaic schema add, POST /v1/schemas' },
    });
  }

  // The latest expectation results on each table they check.
  const latest = deps.expectationRuns ? await deps.expectationRuns.latest() : [];
  for (const d of out) {
    const table = d.kind === 'warehouse' ? d.id.slice('warehouse:'.length) : undefined;
    const runs = latest.filter((r) => r.table === table);
    if (runs.length) d.quality = runs.map((r) => ({ suite: r.suite, status: r.status, at: new Date(r.finishedAt).toISOString() }));
  }
  return out;
}
