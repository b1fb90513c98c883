import type { IdentityKey } from '../core/identity.js';
import type { Cluster, Hyperedge, Stamp } from '../core/identity-graph.js';
import type { ProfileDoc } from '../core/profile.js';

/**
 * What one transaction writes: a processed batch's graph and profile changes with the log
 * positions they consumed, or only some of it (the audience timer, a destination's dead letters).
 * Absent fields write nothing.
 */
export interface ProfileCommit {
  clusters?: Iterable<Cluster>;
  deleteClusters?: Iterable<string>;
  /** node -> cluster (profile) id. */
  nodes?: Iterable<[IdentityKey, string]>;
  /** Edges new to the store, or seen earlier than stored (their stamp replaces the stored one). */
  edges?: Iterable<Hyperedge>;
  /** Per-anchor aggregates (doc.id is the anchor identity). */
  parts?: Iterable<ProfileDoc>;
  /** partition -> next offset to read. */
  offsets?: ReadonlyMap<number, number>;
  /**
   * partition -> the lease token the batch started with (see PartitionLeases). A shared store
   * refuses the whole commit with PartitionLostError if a partition's offsets now belong to
   * another token; absent or empty: no fencing (a single writer).
   */
  fence?: ReadonlyMap<number, string>;
  /**
   * Audience entries and exits, applied in order, of profiles that are stored once this commit
   * is (an exit may name a profile the commit deletes).
   */
  memberships?: Iterable<MembershipRecord>;
  /** What to append to the log once committed (pending audience events, as JSON): the outbox. */
  outbox?: Iterable<string>;
  /** Events a transformation or destination could not handle, with the reason. */
  deadLetters?: Iterable<DeadLetter>;
  /** Messages this batch applied (see seenMessages), recorded at `at`. */
  seen?: { at: number; messages: Iterable<SeenMessage> };
  /** What an erasure removes besides clusters (deleteClusters) and memberships (exits). */
  erase?: ErasedRows;
  /** Suppression hashes (see privacy/suppression.ts) recorded with the erasure. */
  suppress?: Iterable<string>;
}

/** One person's erasure as one commit: plain data, so it can be posted to the processor's thread. */
export interface ErasureCommit {
  deleteClusters: string[];
  /** Exits from every audience they were in (audience sizes follow). */
  memberships: MembershipRecord[];
  erase: ErasedRows;
  suppress: string[];
}

/** Rows of one person that an erasure deletes, by key or id. */
export interface ErasedRows {
  nodes: readonly IdentityKey[];
  edges: readonly string[];
  parts: readonly IdentityKey[];
  outbox: readonly number[];
  deadLetters: readonly number[];
}

/**
 * An event a processor applied, by its log partition and a key of its (sourceId, messageId):
 * how a processor drops repeats a log let through (EventLogCapabilities.dedup = 'message').
 */
export type SeenMessage = readonly [partition: number, key: string];

export interface DeadLetter {
  at: number;
  kind: 'transformation' | 'destination';
  /** The transformation or destination. */
  name: string;
  reason: string;
  /** The event as it was when it failed (JSON). */
  payload: string;
}

export interface MembershipRecord {
  audience: string;
  profileId: string;
  kind: 'entered' | 'exited';
  at: number;
}

export interface AudienceMemberPage {
  members: { profileId: string; since: number }[];
  /** Where the next page starts; absent when this one is the last. */
  next?: string;
}

/** A members cursor the store could not have made (another store's, or edited). */
export class CursorError extends Error {
  readonly code = 'invalid_cursor';
  constructor(cursor: string) {
    super(`"${cursor}" is not a cursor this store made: pass the "next" of the previous page, or no cursor to start again.`);
    this.name = 'CursorError';
  }
}

export interface OutboxEntry {
  id: number;
  /** As committed (JSON). */
  payload: string;
}

/**
 * Profiles are clusters of the identity graph, with per-anchor aggregates summed on read.
 * Everything a batch changes is committed in one transaction with the offsets it consumed.
 */
export interface ProfileStore {
  /** partition -> next offset to read, as last committed. */
  readOffsets(): Promise<Map<number, number>>;
  /** Cluster id of each node that has one. */
  nodeClusters(nodes: readonly IdentityKey[]): Promise<Map<IdentityKey, string>>;
  getClusters(ids: readonly string[]): Promise<Map<string, Cluster>>;
  /** Stamps of the stored edges among `keys`. */
  edgeStamps(keys: readonly string[]): Promise<Map<string, Stamp>>;
  /** The stored edges among `keys` (a cluster lists the edges that name its members). */
  getEdges(keys: readonly string[]): Promise<Hyperedge[]>;
  getParts(anchors: readonly IdentityKey[]): Promise<Map<IdentityKey, ProfileDoc>>;
  /** Clusters in id order after `afterId` (a cursor), at most `limit`. */
  scanClusters(afterId: string | undefined, limit: number): Promise<Cluster[]>;
  /** The cluster holding `key`, if any. */
  findCluster(key: IdentityKey): Promise<Cluster | undefined>;
  /**
   * The cluster holding `key` with its members' parts and its audiences, in one round trip
   * where the engine is remote. Optional: without it, callers use findCluster, getParts and
   * memberships.
   */
  readonly readProfile?: (key: IdentityKey) => Promise<{ cluster: Cluster; parts: ProfileDoc[]; audiences: string[] } | undefined>;
  /** Audiences each of these profiles belongs to (profiles in none are absent). */
  memberships(profileIds: readonly string[]): Promise<Map<string, Set<string>>>;
  /**
   * A page of an audience's members after `cursor` (from the previous page's `next`), in an
   * order of the store's choosing that entries and exits do not shuffle: each member who stays
   * in the audience is listed once. `next` is absent after the last page. A cursor this store
   * did not make throws CursorError.
   */
  audienceMembers(audience: string, cursor: string | undefined, limit: number): Promise<AudienceMemberPage>;
  /** Current size of every audience with members. */
  audienceCounts(): Promise<Map<string, number>>;
  recordAudienceSizes(at: number, sizes: ReadonlyMap<string, number>): Promise<void>;
  audienceSizes(audience: string, sinceMs: number): Promise<{ at: number; size: number }[]>;
  /** Oldest outbox entries first. */
  readOutbox(limit: number): Promise<OutboxEntry[]>;
  /**
   * Removes these outbox entries (those appended), by id: where several processors share a
   * store, an entry with a lower id can commit after a higher one was read, and deleting
   * "through" the highest would drop it unsent.
   */
  deleteOutbox(ids: readonly number[]): Promise<void>;
  /** Dead letters, oldest first, with ids after `afterId`. */
  deadLetters(afterId: number, limit: number, kind?: DeadLetter['kind']): Promise<(DeadLetter & { id: number })[]>;
  /** The keys among `messages` that a commit recorded as seen (and that were not forgotten since). */
  seenMessages(messages: readonly SeenMessage[]): Promise<Set<string>>;
  /** Forgets the messages recorded before `beforeMs`; resolves with how many. */
  forgetSeenMessages(beforeMs: number): Promise<number>;
  /** Every suppression hash recorded (a short list: one per erased identifier). */
  suppressions(): Promise<string[]>;
  /** How many suppression hashes there are: read per batch, so a new erasure is seen at once. */
  suppressionCount(): Promise<number>;
  /**
   * After an erasure, removes what the engine keeps of deleted rows (free page space, WAL,
   * dead tuples); resolves false when something held it back (a later call finishes it).
   */
  scrub(): Promise<boolean>;
  /** Atomic: all of it or none of it. */
  commit(batch: ProfileCommit): Promise<void>;
  /**
   * On a store shared by many processors: runs `work` (its reads and its commit) as one
   * serializable transaction, retried from the start when it conflicts with another processor's.
   * Absent where there is a single writer (the embedded store), which needs no such thing.
   */
  readonly transactional?: <T>(work: (tx: ProfileStore) => Promise<T>) => Promise<T>;
  /** Drops every profile, identity, edge, part, membership, outbox entry, seen message, transformation dead letter and offset (before a replay). Suppressions stay. */
  reset(): Promise<void>;
  countProfiles(): Promise<number>;
  /** Small facts about how the profiles were built (e.g. the computed-trait definitions). Survive reset(). */
  getMeta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;
  close(): Promise<void>;
}
