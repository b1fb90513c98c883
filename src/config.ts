import { readFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { Cron } from 'croner';
import { COMPUTED_OPS, CONDITION_OPS, ComputedTraitError, compileComputedTraits } from './core/computed-traits.js';
import { AudienceError, compileAudiences, type AudienceDef } from './core/audiences.js';
import { MESSAGE_TYPES } from './core/envelope.js';
import { COMPATIBILITIES } from './core/schema-diff.js';
import { DEFAULT_IDENTIFIER_TYPES, IdentityRules, IdentityRulesError, NORMALIZERS } from './core/identity.js';
import { MosaicError } from './errors.js';
import { TEXT_VALUES } from './core/text-state.js';
import { loadSuites } from './quality/expectations.js';

/** An enum schema: Ajv then reports one readable error with the allowed values, not one per literal. */
const literals = <T extends string>(values: readonly T[], fallback?: T) => Type.Unsafe<T>({ type: 'string', enum: [...values], ...(fallback !== undefined ? { default: fallback } : {}) });

export const VIOLATION_POLICIES = ['allow', 'quarantine', 'reject'] as const;
export type ViolationPolicy = (typeof VIOLATION_POLICIES)[number];

const ComputedTraitSchema = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    op: literals(COMPUTED_OPS),
    event: Type.Optional(Type.String({ minLength: 1 })),
    type: Type.Optional(literals(MESSAGE_TYPES)),
    property: Type.Optional(Type.String({ minLength: 1 })),
    window: Type.Optional(Type.String({ minLength: 2 })),
    n: Type.Optional(Type.Integer()),
    where: Type.Optional(
      Type.Array(Type.Object({ path: Type.String({ minLength: 1 }), op: literals(CONDITION_OPS), value: Type.Optional(Type.Unknown()) }, { additionalProperties: false })),
    ),
  },
  { additionalProperties: false },
);

const IdentifierTypeSchema = Type.Object(
  {
    type: Type.String({ minLength: 1 }),
    paths: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
    limit: Type.Integer({ minimum: 1 }),
    normalize: Type.Optional(literals(NORMALIZERS)),
    hash: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

/** Which source fields become which parts of a Segment message (see docs/imports.md). */
export const ImportMappingSchema = Type.Object(
  {
    type: Type.Union([Type.Literal('identify'), Type.Literal('track')], { default: 'identify' }),
    /** Source fields holding the ids (at least one per row). */
    userId: Type.Optional(Type.String()),
    anonymousId: Type.Optional(Type.String()),
    /** track: the event name, or the field holding it. */
    event: Type.Optional(Type.String()),
    eventField: Type.Optional(Type.String()),
    /** The event time's field (ISO 8601 or epoch milliseconds); absent: the time of the import. */
    timestamp: Type.Optional(Type.String()),
    /** Fields copied as traits (identify) or properties (track): a list, or { name: field }. */
    traits: Type.Optional(Type.Union([Type.Array(Type.String()), Type.Record(Type.String(), Type.String())])),
    properties: Type.Optional(Type.Union([Type.Array(Type.String()), Type.Record(Type.String(), Type.String())])),
    /** Fields identifying a row at the source (default: the userId field). With `version`, they make the messageId. */
    key: Type.Optional(Type.Array(Type.String(), { minItems: 1 })),
    /** A field that changes when the row changes (default: the incremental field, else the timestamp field). */
    version: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

const ImportSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_-]*$' }),
    source: Type.Union([
      Type.Object({ kind: Type.Literal('csv'), file: Type.String(), delimiter: Type.Optional(Type.String({ minLength: 1, maxLength: 1 })) }, { additionalProperties: false }),
      Type.Object({ kind: Type.Literal('jsonl'), file: Type.String() }, { additionalProperties: false }),
      Type.Object({ kind: Type.Literal('postgres'), url: Type.String({ pattern: '^postgres(ql)?://' }), table: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)?$' }) }, { additionalProperties: false }),
      Type.Object(
        {
          kind: Type.Literal('http'),
          url: Type.String({ pattern: '^https?://' }),
          /** Where the rows are in each JSON page (dotted path; default: the page is the array). */
          items: Type.Optional(Type.String()),
          /** Where the next page's cursor is in each page (dotted path); absent or null: the last page. */
          nextCursor: Type.Optional(Type.String()),
          /** The query parameter that carries the cursor (default: cursor). */
          cursorParam: Type.Optional(Type.String()),
          headers: Type.Optional(Type.Record(Type.String(), Type.String())),
        },
        { additionalProperties: false },
      ),
    ]),
    mapping: ImportMappingSchema,
    /** Incremental loads: only rows whose field is greater than the last run's (postgres reads only those; files skip the others). */
    incremental: Type.Optional(Type.Object({ field: Type.String() }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);

/** A blend: each source's weight (0 or absent: not used). */
const StrategySchema = Type.Object(
  {
    cooccurrence: Type.Optional(Type.Number({ minimum: 0 })),
    content: Type.Optional(Type.Number({ minimum: 0 })),
    affinity: Type.Optional(Type.Number({ minimum: 0 })),
    popular: Type.Optional(Type.Number({ minimum: 0 })),
    trending: Type.Optional(Type.Number({ minimum: 0 })),
  },
  { additionalProperties: false },
);

const PlacementSchema = Type.Object(
  {
    strategy: Type.Optional(StrategySchema),
    /** Items per answer when the request sets no limit. */
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 10 }),
    rules: Type.Object(
      {
        excludePurchased: Type.Boolean({ default: true }),
        excludeViewed: Type.Boolean({ default: false }),
        availableOnly: Type.Boolean({ default: true }),
        /** At most this many items of one (first) category per answer; 0: no limit. */
        maxPerCategory: Type.Integer({ minimum: 0, default: 0 }),
      },
      { default: {}, additionalProperties: false },
    ),
    /** Rule-based content: members of an audience see these items first. */
    content: Type.Array(
      Type.Object({ audience: Type.String({ minLength: 1 }), items: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }), reason: Type.Optional(Type.String()) }, { additionalProperties: false }),
      { default: [] },
    ),
    /** Variants of the strategy, each shown to a share of profiles, bucketed by profile id. */
    experiment: Type.Optional(
      Type.Object(
        {
          name: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_-]*$' }),
          variants: Type.Array(
            Type.Object({ name: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_-]*$' }), weight: Type.Number({ exclusiveMinimum: 0 }), strategy: Type.Optional(StrategySchema) }, { additionalProperties: false }),
            { minItems: 2 },
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

const DEFAULT_INTERACTIONS = [
  { event: 'Product Viewed', item: 'properties.product_id', kind: 'view' },
  { event: 'Product Clicked', item: 'properties.product_id', kind: 'view' },
  { event: 'Product Added', item: 'properties.product_id', kind: 'cart' },
  { event: 'Order Completed', item: 'properties.products[].product_id', kind: 'purchase' },
];

/** One placement, blending every source: personalized where there is history, popular where there is none. */
const DEFAULT_PLACEMENTS = { default: { strategy: { cooccurrence: 3, content: 1, affinity: 1, popular: 1 } } };

const ConfigSchema = Type.Object(
  {
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
    host: Type.String({ default: '0.0.0.0' }),
    /**
     * Behind a reverse proxy, trust its X-Forwarded-* headers (client IP in the audit trail,
     * https in the analytics.js settings). Off by default: anyone could forge them.
     */
    trustProxy: Type.Boolean({ default: false }),
    dataDir: Type.String({ default: './data' }),
    /** When set, this write key is (created and) accepted for the default source. */
    writeKey: Type.Optional(Type.String({ minLength: 8 })),
    /** When set, this admin API token is accepted in addition to stored ones. */
    apiToken: Type.Optional(Type.String({ minLength: 16 })),
    /** The web console at /console (docs/console.md), served with the APIs. */
    console: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        /** A login lasts this long without use. */
        sessionHours: Type.Number({ exclusiveMinimum: 0, default: 8 }),
        /** Session cookies only over https (set it when a TLS proxy is in front). */
        secureCookies: Type.Boolean({ default: false }),
        /** The pipeline's figures are sampled this often and kept this long, for the console's charts. */
        historyIntervalSeconds: Type.Integer({ minimum: 1, default: 10 }),
        historyRetentionHours: Type.Number({ exclusiveMinimum: 0, default: 24 }),
      },
      { default: {} },
    ),
    logLevel: Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
      { default: 'info' },
    ),
    limits: Type.Object(
      {
        messageBytes: Type.Integer({ minimum: 1024, default: 32 * 1024 }),
        batchBytes: Type.Integer({ minimum: 1024, default: 500 * 1024 }),
      },
      { default: {} },
    ),
    log: Type.Object(
      {
        partitions: Type.Integer({ minimum: 1, maximum: 256, default: 8 }),
        /** full: fsync on every group commit (survives power loss); normal: survives a process crash only. */
        sync: Type.Union([Type.Literal('full'), Type.Literal('normal')], { default: 'full' }),
        dedupWindowHours: Type.Number({ exclusiveMinimum: 0, default: 24 }),
        /**
         * inline: SQLite writes and fsyncs on the event loop; thread: on their own thread. On a
         * 2-core machine the thread measured no faster for batches and 25% slower for single
         * events (the CPU is already saturated), so inline is the default; try thread with more cores.
         */
        writer: Type.Union([Type.Literal('thread'), Type.Literal('inline')], { default: 'inline' }),
        /** Events waiting for a group commit before ingest answers 503. */
        maxPendingEvents: Type.Integer({ minimum: 100, default: 100_000 }),
        /**
         * Crypto-shredding: each person's entries encrypted under their own key, destroyed by an
         * erasure. auto: where the log cannot remove single entries (NATS); always; never.
         */
        shred: literals(['auto', 'always', 'never'] as const, 'auto'),
        /** NATS JetStream instead of the embedded log: nats://host:4222 (comma-separate a cluster's servers). */
        url: Type.Optional(Type.String({ pattern: '^nats://' })),
        /** The JetStream stream, when `url` is set (see docs/deployment.md). */
        nats: Type.Object(
          {
            stream: Type.String({ pattern: '^[A-Za-z0-9_-]+$', default: 'MOSAIC_EVENTS' }),
            subjectPrefix: Type.String({ pattern: '^[A-Za-z0-9_.-]+$', default: 'mosaic.events' }),
            /** Copies of each message in a JetStream cluster (1, 3 or 5); set when the stream is created. */
            replicas: Type.Integer({ minimum: 1, maximum: 5, default: 1 }),
            storage: Type.Union([Type.Literal('file'), Type.Literal('memory')], { default: 'file' }),
            ackTimeoutMs: Type.Integer({ minimum: 100, default: 5000 }),
          },
          { default: {} },
        ),
      },
      { default: {} },
    ),
    /** Redis in front of the profile API (see docs/deployment.md); none by default. */
    cache: Type.Object(
      {
        /** redis://host:6379/0 */
        url: Type.Optional(Type.String({ pattern: '^rediss?://' })),
        prefix: Type.String({ default: 'mosaic:profiles' }),
        /** A cached profile lives at most this long (windowed traits move on within it). */
        ttlSeconds: Type.Integer({ minimum: 1, default: 30 }),
      },
      { default: {} },
    ),
    /** PostgreSQL instead of the embedded profile store. */
    lake: Type.Object(
      {
        /** Where the Parquet lake lives (default: <dataDir>/lake). */
        dir: Type.Optional(Type.String()),
        /** Copy the log to the lake this often inside `mosaic up` / `mosaic offload`; 0: never on its own. */
        offloadIntervalSeconds: Type.Integer({ minimum: 0, default: 60 }),
        /** Events per partition per offload step: bounds memory (`mosaic up` peaked near 1.5 GB RSS during a copy at 50,000, 3.4 GB at 250,000), and a file's size. */
        chunkEvents: Type.Integer({ minimum: 1, default: 50_000 }),
        /** Write the profile snapshot (the warehouse's profiles, identities, sessions, audience_memberships) this often, with an offload; 0: never on its own. */
        snapshotIntervalSeconds: Type.Integer({ minimum: 0, default: 300 }),
        /** Days of events kept in the lake per event type (`default` for the others); absent: forever. */
        retentionDays: Type.Record(Type.String(), Type.Number({ exclusiveMinimum: 0 }), { default: {} }),
      },
      { default: {} },
    ),
    store: Type.Object(
      {
        /** postgres://user@host:5432/database */
        url: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
        /** Schema holding Mosaic's tables (created on first start). */
        schema: Type.String({ pattern: '^[a-z_][a-z0-9_]{0,62}$', default: 'mosaic' }),
        /** Connections per process (the processor thread has its own pool). */
        poolSize: Type.Integer({ minimum: 1, default: 10 }),
      },
      { default: {} },
    ),
    processor: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        /** thread: a worker thread with its own connections (uses a second core); inline: the main thread. */
        mode: Type.Union([Type.Literal('thread'), Type.Literal('inline')], { default: 'thread' }),
        batchSize: Type.Integer({ minimum: 1, default: 10_000 }),
        pollMs: Type.Integer({ minimum: 1, default: 200 }),
        lingerMs: Type.Integer({ minimum: 0, default: 10 }),
        /** Unprocessed events beyond which ingest answers 429. */
        maxLagEvents: Type.Integer({ minimum: 1, default: 2_000_000 }),
        /**
         * fsyncs of the profile store (derived from the log, rebuilt by `mosaic replay`). normal:
         * at WAL checkpoints; off: never — about 30% faster processing (npm run bench:processor),
         * safe against a process crash, but after a power loss profiles.db may need a replay.
         */
        storeSync: Type.Union([Type.Literal('normal'), Type.Literal('off')], { default: 'normal' }),
        /** Profile parts kept in memory between batches (a person's events come in bursts); 0: none. */
        cachedParts: Type.Integer({ minimum: 0, default: 10_000 }),
      },
      { default: {} },
    ),
    /** Named batch imports (see docs/imports.md): `mosaic import run <name>`, or a scheduled job. */
    imports: Type.Array(ImportSchema, { default: [] }),
    /** Features computed over the whole history in the warehouse and written back to profiles as traits. */
    batchFeatures: Type.Object(
      {
        rfm: Type.Object(
          {
            /** The purchase event. */
            event: Type.String({ default: 'Order Completed' }),
            /** The property with each purchase's amount. */
            revenue: Type.String({ default: 'revenue' }),
          },
          { default: {}, additionalProperties: false },
        ),
        /** Scores learned from the warehouse (`mosaic model train`): who is about to leave, who is about to buy. */
        models: Type.Object(
          {
            /** Churned: no event at all within the horizon after the cut-off. */
            churn: Type.Object({ horizonDays: Type.Integer({ minimum: 1, maximum: 365, default: 30 }) }, { default: {}, additionalProperties: false }),
            /** Converted: the event (default RFM's purchase event) within the horizon after the cut-off. */
            propensity: Type.Object({ horizonDays: Type.Integer({ minimum: 1, maximum: 365, default: 30 }), event: Type.Optional(Type.String({ minLength: 1 })) }, { default: {}, additionalProperties: false }),
          },
          { default: {}, additionalProperties: false },
        ),
        /** Behavioural segments (the purchase event and amount are RFM's). */
        clusters: Type.Object(
          {
            algorithm: Type.Union([Type.Literal('kmeans'), Type.Literal('dbscan')], { default: 'kmeans' }),
            kMin: Type.Integer({ minimum: 2, default: 2 }),
            kMax: Type.Integer({ minimum: 2, default: 8 }),
            eps: Type.Number({ exclusiveMinimum: 0, default: 0.5 }),
            minPoints: Type.Integer({ minimum: 1, default: 5 }),
          },
          { default: {}, additionalProperties: false },
        ),
      },
      { default: {}, additionalProperties: false },
    ),
    /** Jobs run on cron expressions by `mosaic scheduler` and inside `mosaic up` (see docs/scheduler.md). */
    schedules: Type.Array(
      Type.Object(
        {
          name: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_-]*$' }),
          /** Five or six fields (seconds first when six), e.g. "0 3 * * *": 03:00 every day. */
          cron: Type.String({ minLength: 9 }),
          /** An IANA time zone for the cron expression (default UTC). */
          timezone: Type.String({ default: 'UTC' }),
          job: Type.Union([
            Type.Object({ kind: Type.Literal('import'), import: Type.String() }, { additionalProperties: false }),
            Type.Object({ kind: Type.Literal('compact') }, { additionalProperties: false }),
            Type.Object({ kind: Type.Literal('retention') }, { additionalProperties: false }),
            Type.Object({ kind: Type.Literal('snapshot') }, { additionalProperties: false }),
            Type.Object({ kind: Type.Literal('rfm') }, { additionalProperties: false }),
            Type.Object({ kind: Type.Literal('clusters') }, { additionalProperties: false }),
            /** Retrains a model and writes its scores to the profiles (`<model>_score`). */
            Type.Object({ kind: Type.Literal('model'), model: literals(['churn', 'propensity'] as const) }, { additionalProperties: false }),
            /** Finds near-duplicate profiles in the snapshot; merges them when quality.duplicates.merge is enabled. */
            Type.Object({ kind: Type.Literal('duplicates') }, { additionalProperties: false }),
            /** Runs expectation suites (all under quality.expectations, or those named); fails when one does not pass. */
            Type.Object({ kind: Type.Literal('expectations'), suites: Type.Optional(Type.Array(Type.String(), { minItems: 1 })) }, { additionalProperties: false }),
          ]),
        },
        { additionalProperties: false },
      ),
      { default: [] },
    ),
    /** Tracking plans: schemas per event, and what happens to an event that breaks them (see docs/quality.md). */
    quality: Type.Object(
      {
        /** allow: keep it, tagged in context.violations; quarantine: hold it back, whole, for replay; reject: answer 400 with each violation. */
        violations: literals(VIOLATION_POLICIES, 'allow'),
        /** Per source, by name or id: overrides `violations`. */
        sources: Type.Record(Type.String(), literals(VIOLATION_POLICIES), { default: {} }),
        /** violation: an event that no schema describes breaks the plan (rule `unplanned`). */
        unplanned: literals(['allow', 'violation'] as const, 'allow'),
        /** The compatibility mode of a subject's first version when none is given. */
        defaultCompatibility: literals(COMPATIBILITIES, 'backward'),
        /** How often collectors look for new schema versions (registered by another process). */
        refreshSeconds: Type.Number({ exclusiveMinimum: 0, default: 2 }),
        /** Near-duplicate profiles (mosaic duplicates; the duplicates job). */
        duplicates: Type.Object(
          {
            /** Pairs scoring at least this (0..1) are reported. */
            threshold: Type.Number({ minimum: 0, maximum: 1, default: 0.5 }),
            bands: Type.Integer({ minimum: 1, maximum: 256, default: 32 }),
            rows: Type.Integer({ minimum: 1, maximum: 16, default: 4 }),
            /** Opt in: the duplicates job asks identity resolution to merge pairs at or above `threshold`. */
            merge: Type.Object({ enabled: Type.Boolean({ default: false }), threshold: Type.Number({ minimum: 0, maximum: 1, default: 0.9 }) }, { default: {}, additionalProperties: false }),
          },
          { default: {}, additionalProperties: false },
        ),
        /** Expectation suites: YAML files, or directories of them (relative to this file). */
        expectations: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
      },
      { default: {}, additionalProperties: false },
    ),
    /** Privacy (see docs/privacy.md). */
    privacy: Type.Object(
      {
        /** HMAC keys for pseudonymization, the active one first; older ones still read their tokens. Or MOSAIC_PRIVACY_KEYS="id:secret,id:secret". */
        keys: Type.Array(Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,16}$' }), secret: Type.String({ minLength: 16 }) }, { additionalProperties: false }), { default: [] }),
        /** Consent from context.consent.categoryPreferences (Segment's format), per purpose. */
        consent: Type.Object(
          {
            /** What a purpose without any consent recorded counts as. */
            default: literals(['granted', 'denied'] as const, 'granted'),
            /** What the lake does with an event whose person did not consent to `analytics`: leave it out, or keep it without anything that names them. */
            lake: literals(['drop', 'anonymize'] as const, 'drop'),
          },
          { default: {}, additionalProperties: false },
        ),
        /**
         * The re-identification vault: each pseudonymized value kept encrypted (AES-256-GCM) under
         * its token, readable only through an audited reveal. Keys: the active one first, or
         * MOSAIC_VAULT_KEYS="id:secret,…"; never the pseudonymization keys.
         */
        vault: Type.Object(
          {
            enabled: Type.Boolean({ default: false }),
            keys: Type.Array(Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,16}$' }), secret: Type.String({ minLength: 32 }) }, { additionalProperties: false }), { default: [] }),
          },
          { default: {}, additionalProperties: false },
        ),
        /** Differentially private reports (`mosaic report`, /v1/reports/…). */
        reports: Type.Object(
          {
            /** The privacy cost of one report unless the request asks for less (smaller: more noise). */
            epsilon: Type.Number({ exclusiveMinimum: 0, maximum: 10, default: 1 }),
            /** Epsilon one token may spend per period. */
            budget: Type.Number({ exclusiveMinimum: 0, default: 10 }),
            budgetPeriod: literals(['day', 'never'] as const, 'day'),
            /** Cells with a noisy count below this are withheld. */
            minGroupSize: Type.Integer({ minimum: 1, default: 10 }),
            /** Events report: cells one person counts in at most. */
            maxCellsPerPerson: Type.Integer({ minimum: 1, maximum: 1000, default: 10 }),
            /** Events report, `events` measure: events one person adds to a cell at most. */
            maxEventsPerCell: Type.Integer({ minimum: 1, maximum: 1000, default: 5 }),
          },
          { default: {}, additionalProperties: false },
        ),
        /** Message paths replaced at the collector before anything is stored. */
        pseudonymize: Type.Array(
          Type.Object(
            {
              path: Type.String({ pattern: '^[A-Za-z_$][A-Za-z0-9_$-]*(\\.[A-Za-z_$][A-Za-z0-9_$-]*)*$' }),
              method: literals(['hmac', 'truncate'] as const),
              normalize: Type.Optional(literals(['none', 'email', 'phone'] as const)),
            },
            { additionalProperties: false },
          ),
          { default: [] },
        ),
      },
      { default: {}, additionalProperties: false },
    ),
    /** The data catalog's owners (everything else in it is read from the running system). */
    catalog: Type.Object(
      {
        /** By dataset id (log:events, lake:events, warehouse:fact_events, store:profiles, import:<name>…). */
        owners: Type.Record(Type.String(), Type.String(), { default: {} }),
        defaultOwner: Type.String({ default: 'unassigned (set catalog.owners)' }),
      },
      { default: {}, additionalProperties: false },
    ),
    /** Webhooks that receive audience changes and, optionally, events (see docs/destinations.md). */
    destinations: Type.Array(
      Type.Object(
        {
          name: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_-]*$' }),
          url: Type.String({ pattern: '^https?://' }),
          /** HMAC-SHA256 key for X-Mosaic-Signature. */
          secret: Type.Optional(Type.String({ minLength: 16 })),
          forward: Type.Object(
            {
              audiences: Type.Union([Type.Boolean(), Type.Array(Type.String())], { default: true }),
              events: Type.Optional(Type.Object({ types: Type.Optional(Type.Array(literals(MESSAGE_TYPES))), names: Type.Optional(Type.Array(Type.String())) }, { additionalProperties: false })),
            },
            { default: {}, additionalProperties: false },
          ),
          timeoutMs: Type.Integer({ minimum: 100, maximum: 60_000, default: 5000 }),
          maxAttempts: Type.Integer({ minimum: 1, maximum: 50, default: 8 }),
          backoffMs: Type.Integer({ minimum: 1, default: 1000 }),
          batchSize: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
          /** Allow loopback, private and link-local addresses (refused by default: SSRF). */
          allowPrivateNetworks: Type.Boolean({ default: false }),
          /** The consent purpose an event's person must have given for it to be sent here. */
          purpose: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_-]*$', default: 'marketing' }),
        },
        { additionalProperties: false },
      ),
      { default: [] },
    ),
    /** Recommendations and decisions (see docs/personalization.md). */
    personalization: Type.Object(
      {
        /** Build item signals from the log and serve POST /v1/decide. */
        enabled: Type.Boolean({ default: true }),
        /** Which events are interactions with an item, where the item id is, and what kind they are. Default: Segment's e-commerce spec. */
        interactions: Type.Array(
          Type.Object({ event: Type.String({ minLength: 1 }), item: Type.String({ minLength: 1 }), kind: literals(['view', 'cart', 'purchase'] as const) }, { additionalProperties: false }),
          { default: DEFAULT_INTERACTIONS },
        ),
        /** What one interaction adds to an item's popularity, by kind. */
        weights: Type.Object(
          { view: Type.Number({ minimum: 0, default: 1 }), cart: Type.Number({ minimum: 0, default: 3 }), purchase: Type.Number({ minimum: 0, default: 5 }) },
          { default: {}, additionalProperties: false },
        ),
        /** Half-lives of the signals: popularity, trending, and the two co-occurrences (viewed together, bought together). */
        halfLifeDays: Type.Object(
          {
            popular: Type.Number({ exclusiveMinimum: 0, default: 7 }),
            trending: Type.Number({ exclusiveMinimum: 0, default: 1 }),
            view: Type.Number({ exclusiveMinimum: 0, default: 30 }),
            purchase: Type.Number({ exclusiveMinimum: 0, default: 90 }),
          },
          { default: {}, additionalProperties: false },
        ),
        /** Two items one person viewed within this many hours are viewed together (bought together: any time). */
        pairWindowHours: Type.Number({ exclusiveMinimum: 0, default: 24 }),
        /** People whose recent items the signal builder remembers (least recently active forgotten first): bounds its memory. */
        peopleInMemory: Type.Integer({ minimum: 100, default: 100_000 }),
        /** Recent items kept per person, on the profile and in the signal builder. */
        recentItems: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
        /** How item text becomes vectors: the built-in hashing vectorizer, or any HTTP embedding endpoint. */
        embedder: Type.Union(
          [
            Type.Object({ kind: Type.Literal('hashing'), dimensions: Type.Optional(Type.Integer({ minimum: 16, maximum: 4096 })) }, { additionalProperties: false }),
            Type.Object(
              {
                kind: Type.Literal('http'),
                url: Type.String({ pattern: '^https?://' }),
                dimensions: Type.Integer({ minimum: 1, maximum: 8192 }),
                /** Sent as they are (an Authorization header, say). */
                headers: Type.Optional(Type.Record(Type.String(), Type.String())),
                /** Default 10 s. */
                timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 60_000 })),
                /** Texts per request; default 64. */
                batchSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 2048 })),
              },
              { additionalProperties: false },
            ),
          ],
          { default: { kind: 'hashing', dimensions: 256 } },
        ),
        /** Text people write (reviews, tickets, chat) turned into signals on their profile (see docs/personalization.md). */
        text: Type.Object(
          {
            /** Which events carry text, and where. */
            sources: Type.Array(Type.Object({ event: Type.String({ minLength: 1 }), path: Type.String({ pattern: '^[A-Za-z0-9_]+(\\.[A-Za-z0-9_]+)+$' }) }, { additionalProperties: false }), { default: [] }),
            /** Intent labels: the first rule with a phrase the text contains (case-insensitive) names it. */
            intents: Type.Array(Type.Object({ label: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_-]*$' }), phrases: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }) }, { additionalProperties: false }), { default: [] }),
            /** drop: the text is removed at the collector once its signals are derived (only they are stored); keep: stored as sent (or pseudonymized by privacy.pseudonymize). */
            raw: literals(['drop', 'keep'] as const, 'drop'),
            /** The profile's text embedding: newer texts weigh more, halving every this many days. */
            halfLifeDays: Type.Number({ exclusiveMinimum: 0, default: 30 }),
            /** Size of the text vectors (the built-in hashing vectorizer). */
            dimensions: Type.Integer({ minimum: 16, maximum: 4096, default: 256 }),
          },
          { default: {}, additionalProperties: false },
        ),
        /** Placements by name: what POST /v1/decide shows for each. */
        placements: Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_-]*$' }), PlacementSchema, { default: DEFAULT_PLACEMENTS }),
      },
      { default: {}, additionalProperties: false },
    ),
    /** Your functions over each event, in order (see docs/transformations.md). */
    transformations: Type.Array(
      Type.Object(
        { name: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_-]*$' }), file: Type.String({ minLength: 1 }), timeoutMs: Type.Integer({ minimum: 1, maximum: 10_000, default: 50 }) },
        { additionalProperties: false },
      ),
      { default: [] },
    ),
    /** Built-in enrichment in the processor (see docs/enrichment.md). */
    enrich: Type.Object(
      {
        userAgent: Type.Boolean({ default: true }),
        localTime: Type.Boolean({ default: true }),
        geo: Type.Object(
          {
            enabled: Type.Boolean({ default: true }),
            /** A MaxMind-format (.mmdb) file, e.g. GeoLite2-City.mmdb. Default: @ip-location-db/geo-whois-asn-country-mmdb if installed. */
            database: Type.Optional(Type.String({ minLength: 1 })),
          },
          { default: {} },
        ),
      },
      { default: {} },
    ),
    profiles: Type.Object(
      {
        /** Newest events indexed per profile identity for GET /v1/profiles/{ref}/events (0: off). */
        recentEvents: Type.Integer({ minimum: 0, maximum: 200, default: 20 }),
      },
      { default: {} },
    ),
    sessions: Type.Object(
      {
        /** A gap longer than this (event time) starts a new session. */
        timeoutMinutes: Type.Number({ exclusiveMinimum: 0, default: 30 }),
        /** Sessions that ended this long before a profile's newest event are summarised. */
        retainDays: Type.Number({ exclusiveMinimum: 0, default: 90 }),
        /** Campaign from the page URL's utm_* parameters when the SDK sent no context.campaign. */
        campaignFromUrl: Type.Boolean({ default: true }),
        /** Classify each session's referrer: direct, internal, search, social, email, referral. */
        referrerType: Type.Boolean({ default: true }),
      },
      { default: {} },
    ),
    identity: Type.Object(
      {
        /** Identifier types in merge priority order, highest first (see docs/identity.md). */
        types: Type.Array(IdentifierTypeSchema, { default: DEFAULT_IDENTIFIER_TYPES }),
      },
      { default: {} },
    ),
    /** Aggregates over each profile's events (see docs/computed-traits.md). */
    computedTraits: Type.Array(ComputedTraitSchema, { default: [] }),
    /** Segments by rule (see docs/audiences.md); rules are checked by compileAudiences. */
    audiences: Type.Array(
      Type.Object({ name: Type.String(), description: Type.Optional(Type.String()), rule: Type.Unknown() }, { additionalProperties: false }),
      { default: [] },
    ),
    audienceTimer: Type.Object(
      {
        /** How often the timer re-evaluates a slice of profiles, so members leave as windows expire. */
        intervalMs: Type.Integer({ minimum: 50, default: 1000 }),
        /** Profiles per tick: a full pass over N profiles takes N / this ticks. */
        profilesPerTick: Type.Integer({ minimum: 1, default: 2000 }),
        /** Profiles per tick while an added or changed audience is being backfilled. */
        backfillPerTick: Type.Integer({ minimum: 1, default: 20_000 }),
        /** How often each audience's size is recorded (size over time). */
        sizeSampleSeconds: Type.Integer({ minimum: 1, default: 60 }),
      },
      { default: {} },
    ),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;

const ajv = new Ajv({ useDefaults: true, allErrors: true, coerceTypes: false });
const validate = ajv.compile<Config>(ConfigSchema);
const validateImport = ajv.compile<Config['imports'][number]>(ImportSchema);

function invalid(errors: typeof validate.errors, prefix = ''): MosaicError {
  return new MosaicError('MOSAIC_CONFIG_INVALID', {
    details: (errors ?? []).map((e) => ({
      path: prefix + (e.instancePath || '/'),
      rule: e.keyword,
      message:
        e.keyword === 'enum'
          ? `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`
          : e.keyword === 'additionalProperties'
            ? `unknown key "${(e.params as { additionalProperty: string }).additionalProperty}"`
            : (e.message ?? 'invalid'),
    })),
  });
}

/** An import defined outside the configuration (on the command line), checked as the configuration's are. */
export function importDefinition(raw: unknown, where: string): Config['imports'][number] {
  if (!validateImport(raw)) throw invalid(validateImport.errors, where);
  return raw;
}

/** What audience rules may read as `computed`: the declared computed traits, and the text signals when text is configured. */
export function ruleValueNames(config: Config): string[] {
  return [...config.computedTraits.map((t) => t.name), ...(config.personalization.text.sources.length ? TEXT_VALUES : [])];
}

/** Environment variables that override the file. Numbers are parsed here, not by the schema. */
function fromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const log: Record<string, unknown> = {};
  if (env.PORT !== undefined) out.port = Number(env.PORT);
  if (env.HOST !== undefined) out.host = env.HOST;
  if (env.MOSAIC_TRUST_PROXY !== undefined) out.trustProxy = env.MOSAIC_TRUST_PROXY === 'true' || env.MOSAIC_TRUST_PROXY === '1';
  if (env.MOSAIC_DATA_DIR !== undefined) out.dataDir = env.MOSAIC_DATA_DIR;
  if (env.MOSAIC_WRITE_KEY !== undefined) out.writeKey = env.MOSAIC_WRITE_KEY;
  if (env.MOSAIC_API_TOKEN !== undefined) out.apiToken = env.MOSAIC_API_TOKEN;
  if (env.MOSAIC_LOG_LEVEL !== undefined) out.logLevel = env.MOSAIC_LOG_LEVEL;
  if (env.MOSAIC_LOG_SYNC !== undefined) log.sync = env.MOSAIC_LOG_SYNC;
  if (env.MOSAIC_LOG_PARTITIONS !== undefined) log.partitions = Number(env.MOSAIC_LOG_PARTITIONS);
  if (env.MOSAIC_LOG !== undefined && env.MOSAIC_LOG !== '') log.url = env.MOSAIC_LOG;
  if (Object.keys(log).length) out.log = log;
  if (env.MOSAIC_STORE !== undefined && env.MOSAIC_STORE !== '') out.store = { url: env.MOSAIC_STORE };
  if (env.MOSAIC_CACHE !== undefined && env.MOSAIC_CACHE !== '') out.cache = { url: env.MOSAIC_CACHE };
  // "id:secret,id:secret", the active key first: secrets stay out of the configuration file.
  const keyList = (text: string) => text.split(',').map((pair) => ({ id: pair.slice(0, pair.indexOf(':')), secret: pair.slice(pair.indexOf(':') + 1) }));
  if (env.MOSAIC_PRIVACY_KEYS) out.privacy = { keys: keyList(env.MOSAIC_PRIVACY_KEYS) };
  if (env.MOSAIC_VAULT_KEYS) out.privacy = { ...(out.privacy as object | undefined), vault: { keys: keyList(env.MOSAIC_VAULT_KEYS) } };
  return out;
}

function mergeDeep(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b)
        ? mergeDeep(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

/**
 * Reads the configuration once: `mosaic.yaml` (or MOSAIC_CONFIG) if present, then
 * environment overrides, then `overrides` (used by tests), validated against the schema.
 */
export function loadConfig(opts: { env?: NodeJS.ProcessEnv; overrides?: Record<string, unknown>; cwd?: string; file?: string } = {}): Config {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  let fileConfig: Record<string, unknown> = {};
  const named = opts.file ?? (env.MOSAIC_CONFIG || undefined); // MOSAIC_CONFIG= (empty) means none
  const file = resolve(cwd, named ?? 'mosaic.yaml');
  if (named && !existsSync(file)) {
    throw new MosaicError('MOSAIC_CONFIG_INVALID', { message: `Configuration file ${file} does not exist.` });
  }
  if (existsSync(file)) {
    const parsed: unknown = parseYaml(readFileSync(file, 'utf8'));
    if (parsed && typeof parsed === 'object') fileConfig = parsed as Record<string, unknown>;
  }
  const raw = mergeDeep(mergeDeep(fileConfig, fromEnv(env)), opts.overrides ?? {});
  if (!validate(raw)) throw invalid(validate.errors);
  const config = raw as Config;
  config.dataDir = resolve(cwd, config.dataDir);
  config.lake.dir = resolve(cwd, config.lake.dir ?? join(config.dataDir, 'lake'));
  // Relative to the configuration file's directory, as a person writing the file expects.
  const configDir = existsSync(file) ? dirname(file) : cwd;
  for (const t of config.transformations) t.file = resolve(configDir, t.file);
  config.quality.expectations = config.quality.expectations.map((f) => resolve(configDir, f));
  for (const [i, d] of config.destinations.entries()) {
    const names = Array.isArray(d.forward.audiences) ? d.forward.audiences : [];
    const unknown = names.filter((n) => !config.audiences.some((a) => (a as { name: string }).name === n));
    if (unknown.length) throw new MosaicError('MOSAIC_CONFIG_INVALID', { details: [{ path: `/destinations/${i}/forward/audiences`, rule: 'audience', message: `no audience named ${unknown.map((n) => `"${n}"`).join(', ')}` }] });
    if (config.destinations.findIndex((x) => x.name === d.name) !== i) throw new MosaicError('MOSAIC_CONFIG_INVALID', { details: [{ path: `/destinations/${i}/name`, rule: 'unique', message: `"${d.name}" is declared twice` }] });
  }
  const dupe = config.transformations.find((t, i) => config.transformations.findIndex((x) => x.name === t.name) !== i);
  if (dupe) throw new MosaicError('MOSAIC_CONFIG_INVALID', { details: [{ path: '/transformations', rule: 'unique', message: `"${dupe.name}" is declared twice` }] });
  for (const [i, j] of config.schedules.entries()) {
    if (config.schedules.findIndex((x) => x.name === j.name) !== i) throw new MosaicError('MOSAIC_CONFIG_INVALID', { details: [{ path: `/schedules/${i}/name`, rule: 'unique', message: `"${j.name}" is declared twice` }] });
    if (j.job.kind === 'import' && !config.imports.some((d) => d.name === (j.job as { import: string }).import)) {
      throw new MosaicError('MOSAIC_CONFIG_INVALID', { details: [{ path: `/schedules/${i}/job/import`, rule: 'import', message: `no import named "${j.job.import}" under imports:` }] });
    }
    try {
      new Cron(j.cron, { timezone: j.timezone, paused: true }).stop();
    } catch (err) {
      throw new MosaicError('MOSAIC_CONFIG_INVALID', { details: [{ path: `/schedules/${i}/cron`, rule: 'cron', message: `"${j.cron}": ${(err as Error).message}` }] });
    }
  }
  if (config.quality.expectations.length) {
    const names = new Set(loadSuites(config.quality.expectations).map((x) => x.suite));
    for (const [i, j] of config.schedules.entries()) {
      const missing = j.job.kind === 'expectations' ? (j.job.suites ?? []).filter((n) => !names.has(n)) : [];
      if (missing.length) throw new MosaicError('MOSAIC_CONFIG_INVALID', { details: [{ path: `/schedules/${i}/job/suites`, rule: 'suite', message: `no expectation suite named ${missing.map((n) => `"${n}"`).join(', ')} under quality.expectations` }] });
    }
  } else {
    const i = config.schedules.findIndex((j) => j.job.kind === 'expectations');
    if (i >= 0) throw new MosaicError('MOSAIC_CONFIG_INVALID', { details: [{ path: `/schedules/${i}/job`, rule: 'suite', message: 'an expectations job needs suites under quality.expectations' }] });
  }
  if (config.privacy.pseudonymize.some((r) => r.method === 'hmac') && config.privacy.keys.length === 0) {
    throw new MosaicError('MOSAIC_CONFIG_INVALID', { details: [{ path: '/privacy/keys', rule: 'required', message: 'hmac pseudonymization needs a key: privacy.keys, or MOSAIC_PRIVACY_KEYS="k1:<secret of 16+ characters>"' }] });
  }
  if (config.privacy.vault.enabled && config.privacy.vault.keys.length === 0) {
    throw new MosaicError('MOSAIC_CONFIG_INVALID', { details: [{ path: '/privacy/vault/keys', rule: 'required', message: 'the vault needs a key: privacy.vault.keys, or MOSAIC_VAULT_KEYS="v1:<secret of 32+ characters>"' }] });
  }
  const shared = config.privacy.vault.keys.find((v) => config.privacy.keys.some((k) => k.secret === v.secret));
  if (shared) {
    throw new MosaicError('MOSAIC_CONFIG_INVALID', { details: [{ path: '/privacy/vault/keys', rule: 'distinct', message: `vault key "${shared.id}" is also a pseudonymization key: the vault must have keys of its own` }] });
  }
  const twice = config.imports.find((d, i) => config.imports.findIndex((x) => x.name === d.name) !== i);
  if (twice) throw new MosaicError('MOSAIC_CONFIG_INVALID', { details: [{ path: '/imports', rule: 'unique', message: `"${twice.name}" is declared twice` }] });
  const audienceNames = new Set(config.audiences.map((a) => (a as { name: string }).name));
  const experiments = new Set<string>();
  for (const [name, pl] of Object.entries(config.personalization.placements)) {
    const at = `/personalization/placements/${name}`;
    for (const [i, c] of pl.content.entries()) {
      if (!audienceNames.has(c.audience)) throw new MosaicError('MOSAIC_CONFIG_INVALID', { details: [{ path: `${at}/content/${i}/audience`, rule: 'audience', message: `no audience named "${c.audience}"` }] });
    }
    const ex = pl.experiment;
    if (!ex) continue;
    if (experiments.has(ex.name)) throw new MosaicError('MOSAIC_CONFIG_INVALID', { details: [{ path: `${at}/experiment/name`, rule: 'unique', message: `experiment "${ex.name}" is declared in two placements` }] });
    experiments.add(ex.name);
    const twice = ex.variants.find((v, i) => ex.variants.findIndex((x) => x.name === v.name) !== i);
    if (twice) throw new MosaicError('MOSAIC_CONFIG_INVALID', { details: [{ path: `${at}/experiment/variants`, rule: 'unique', message: `variant "${twice.name}" is declared twice` }] });
  }
  // Semantic checks the schema cannot express.
  try {
    compileComputedTraits(config.computedTraits);
  } catch (err) {
    if (!(err instanceof ComputedTraitError)) throw err;
    throw new MosaicError('MOSAIC_CONFIG_INVALID', { details: err.problems.map((p) => ({ path: p.path, rule: 'computedTrait', message: p.message })) });
  }
  try {
    compileAudiences(config.audiences as AudienceDef[], ruleValueNames(config));
  } catch (err) {
    if (!(err instanceof AudienceError)) throw err;
    throw new MosaicError('MOSAIC_CONFIG_INVALID', { details: err.problems.map((p) => ({ path: p.path, rule: 'audience', message: p.message })) });
  }
  try {
    new IdentityRules(config.identity.types, 'validation only');
  } catch (err) {
    if (!(err instanceof IdentityRulesError)) throw err;
    throw new MosaicError('MOSAIC_CONFIG_INVALID', { details: err.problems.map((p) => ({ path: p.path, rule: 'identity', message: p.message })) });
  }
  return config;
}
