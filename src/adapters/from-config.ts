import { join } from 'node:path';
import type { ItemStore } from '../ports/item-store.js';
import type { Embedder } from '../ports/embedder.js';
import type { VectorIndex } from '../ports/vector-index.js';
import { PostgresItemStore } from './postgres/item-store.js';
import { SqliteItemStore } from './sqlite/item-store.js';
import { HashingEmbedder } from './hashing/embedder.js';
import { HttpEmbedder } from './http/embedder.js';
import { HnswVectorIndex } from './hnswlib/vector-index.js';
import { ShreddingEventLog } from './shredding-event-log.js';
import { SqliteSubjectKeys } from './sqlite/subject-keys.js';
import { PostgresSubjectKeys } from './postgres/subject-keys.js';
import type { SubjectKeys } from '../ports/subject-keys.js';
import { SqliteVault } from './sqlite/vault.js';
import { VaultCipher } from '../privacy/vault-cipher.js';
import type { Vault } from '../ports/vault.js';
import type { ConsentLog } from '../ports/consent-log.js';
import { PostgresConsentLog } from './postgres/consent-log.js';
import { SqliteConsentLog } from './sqlite/consent-log.js';
import type { Quarantine } from '../ports/quarantine.js';
import type { SchemaRegistry } from '../ports/schema-registry.js';
import { PostgresExpectationRuns, PostgresQuarantine, PostgresSchemaRegistry } from './postgres/quality-store.js';
import { SqliteExpectationRuns, SqliteQuarantine, SqliteSchemaRegistry } from './sqlite/quality-store.js';
import type { ExpectationRuns } from '../ports/expectation-runs.js';
import type { JobRuns } from '../ports/job-runs.js';
import { PostgresJobRuns } from './postgres/job-runs.js';
import { SqliteJobRuns } from './sqlite/job-runs.js';
import type { Config } from '../config.js';
import type { EventLog } from '../ports/event-log.js';
import type { ProfileStore } from '../ports/profile-store.js';
import { AllPartitions, type PartitionLeases } from '../ports/partition-leases.js';
import { PostgresPartitionLeases } from './postgres/partition-leases.js';
import type { ProfileCache } from '../ports/profile-cache.js';
import { RedisProfileCache } from './redis/profile-cache.js';
import { NatsEventLog } from './nats/event-log.js';
import { PostgresProfileStore } from './postgres/profile-store.js';
import { SqliteEventLog } from './sqlite/event-log.js';
import { sqliteLogOptions } from './sqlite/from-config.js';
import { SqliteProfileStore } from './sqlite/profile-store.js';

/**
 * How a process uses the log. The embedded log has one writer per data directory: the main
 * process ('writer'), a processor thread beside it only reads ('reader'), `mosaic replay` owns
 * it alone ('replay'). JetStream takes any number of writers and readers.
 */
export type LogRole = 'writer' | 'reader' | 'replay';

/** Which engines the configuration selects, for logs and the data-directory lock. */
export function backends(config: Config): { log: 'sqlite' | 'nats'; store: 'sqlite' | 'postgres' } {
  return { log: config.log.url ? 'nats' : 'sqlite', store: config.store.url ? 'postgres' : 'sqlite' };
}

export async function openEventLog(config: Config, role: LogRole, opts: { onCommit?: (events: number) => void } = {}): Promise<EventLog> {
  const log = await openPlainEventLog(config, role, opts);
  const shred = config.log.shred === 'always' || (config.log.shred === 'auto' && !log.erase);
  return shred ? new ShreddingEventLog(log, await openSubjectKeys(config)) : log;
}

/** Where crypto-shredding keeps its keys: beside the profile store. */
export async function openSubjectKeys(config: Config): Promise<SubjectKeys> {
  if (config.store.url) return PostgresSubjectKeys.open({ url: config.store.url, schema: config.store.schema });
  return new SqliteSubjectKeys({ dir: config.dataDir });
}

async function openPlainEventLog(config: Config, role: LogRole, opts: { onCommit?: (events: number) => void }): Promise<EventLog> {
  if (config.log.url) {
    return NatsEventLog.open({
      url: config.log.url,
      ...config.log.nats,
      partitions: config.log.partitions,
      dedupWindowMs: config.log.dedupWindowHours * 3_600_000,
      maxPendingEvents: config.log.maxPendingEvents,
    });
  }
  if (role === 'reader') return new SqliteEventLog(sqliteLogOptions(config, { writer: 'none' }));
  return SqliteEventLog.open(sqliteLogOptions(config, { writer: role === 'replay' ? 'inline' : config.log.writer, ...(opts.onCommit ? { onCommit: opts.onCommit } : {}) }));
}

/** `mainWriter`: this process's connection is the one that applies batches (the processor's, replay's). */
export async function openProfileStore(config: Config, opts: { mainWriter?: boolean } = {}): Promise<ProfileStore> {
  if (config.store.url) return PostgresProfileStore.open({ url: config.store.url, schema: config.store.schema, poolSize: config.store.poolSize });
  // processor.storeSync (normal by default): the log is the source of truth. After a power loss
  // the profile store is consistent with its own offsets, only older, and catches up from the
  // log; with 'off' it may instead need `mosaic replay`.
  return new SqliteProfileStore({ dir: config.dataDir, sync: config.processor.storeSync, checkpoint: opts.mainWriter ? 'background' : 'inline' });
}

/** The profile cache, when one is configured. */
export function openProfileCache(config: Config): ProfileCache | undefined {
  if (!config.cache.url) return undefined;
  return new RedisProfileCache({ url: config.cache.url, prefix: config.cache.prefix, ttlMs: config.cache.ttlSeconds * 1000 });
}

/** Which partitions a processor applies: all of them on the embedded store, a fair share of a shared one. */
export function partitionLeases(config: Config, partitions: number, onError?: (err: unknown) => void): PartitionLeases {
  if (config.store.url) return new PostgresPartitionLeases({ url: config.store.url, schema: config.store.schema, partitions, ...(onError ? { onError } : {}) });
  return new AllPartitions(partitions);
}

/** Where scheduled jobs are locked and recorded: shared by every scheduler on PostgreSQL. */
export function openJobRuns(config: Config): JobRuns {
  if (config.store.url) return new PostgresJobRuns({ url: config.store.url, schema: config.store.schema });
  return new SqliteJobRuns({ dir: config.dataDir });
}

/** The tracking plan's schemas: shared on PostgreSQL, quality.db in the data directory otherwise. */
export async function openSchemaRegistry(config: Config): Promise<SchemaRegistry> {
  if (config.store.url) return PostgresSchemaRegistry.open({ url: config.store.url, schema: config.store.schema });
  return new SqliteSchemaRegistry({ dir: config.dataDir });
}

/** Events held back by the tracking plan: beside the schemas. */
export async function openQuarantine(config: Config): Promise<Quarantine> {
  if (config.store.url) return PostgresQuarantine.open({ url: config.store.url, schema: config.store.schema });
  return new SqliteQuarantine({ dir: config.dataDir });
}

/** Expectation runs' history: beside the schemas. */
export async function openExpectationRuns(config: Config): Promise<ExpectationRuns> {
  if (config.store.url) return PostgresExpectationRuns.open({ url: config.store.url, schema: config.store.schema });
  return new SqliteExpectationRuns({ dir: config.dataDir });
}

/** The hash-chained consent log: one chain per deployment (PostgreSQL) or data directory. */
/** The re-identification vault, when enabled: vault.db in the data directory (one per process, like control.db). */
export function openVault(config: Config): Vault | undefined {
  if (!config.privacy.vault.enabled) return undefined;
  return new SqliteVault({ dir: config.dataDir }, new VaultCipher(config.privacy.vault.keys));
}

export async function openConsentLog(config: Config): Promise<ConsentLog> {
  if (config.store.url) return PostgresConsentLog.open({ url: config.store.url, schema: config.store.schema });
  return new SqliteConsentLog({ dir: config.dataDir });
}

/** The catalog and item signals: beside the profile store. */
export async function openItemStore(config: Config): Promise<ItemStore> {
  if (config.store.url) return PostgresItemStore.open({ url: config.store.url, schema: config.store.schema });
  return new SqliteItemStore({ dir: config.dataDir });
}

export function openEmbedder(config: Config): Embedder {
  const e = config.personalization.embedder;
  return e.kind === 'http' ? new HttpEmbedder(e) : new HashingEmbedder(e.dimensions ?? 256);
}

/** The item vector index, kept in the data directory (each process that serves decisions keeps its own). */
export async function openItemVectorIndex(config: Config, embedder: Embedder): Promise<{ index: VectorIndex; metaFile: string }> {
  const file = join(config.dataDir, 'items.hnsw');
  return { index: await HnswVectorIndex.open(embedder.dimensions, file), metaFile: `${file}.json` };
}
