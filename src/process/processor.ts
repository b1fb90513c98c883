import type { Logger } from 'pino';
import type { Envelope } from '../core/envelope.js';
import type { IdentityKey, IdentityRules } from '../core/identity.js';
import type { ProfileModel } from '../core/profile.js';
import { applyBatch, MembershipCache, PartCache, sweepAudiences, type BatchOutcome } from './apply-batch.js';
import { AUDIENCE_EVENT_PREFIX, AUDIENCE_SOURCE_ID, type CompiledAudience } from '../core/audiences.js';
import { timeStepMs } from '../core/computed-traits.js';
import type { Transformations } from './transformations.js';
import type { Metrics } from '../observe/metrics.js';
import type { EventLog, LogEntry } from '../ports/event-log.js';
import type { ErasureCommit, ProfileStore } from '../ports/profile-store.js';
import { SuppressionList } from '../privacy/suppression.js';
import { AllPartitions, PartitionLostError, type PartitionLeases } from '../ports/partition-leases.js';
import type { ProfileCache } from '../ports/profile-cache.js';

/** Invalidations kept for a cache that cannot be reached; beyond this it is cleared when it comes back. */
const MAX_PENDING_INVALIDATIONS = 100_000;

/**
 * How long offsets reached over Mosaic's own audience events may wait in memory for the next
 * batch of sources' events to be stored with (see Processor.unsaved).
 */
const MAX_UNSAVED_MS = 1000;

/**
 * Audience events are appended at most this often. Appended after every batch that had any,
 * each batch's few were a log commit of their own (an fsync on the ingest's thread, rewriting
 * the partitions' last pages): with ten audiences at 7,834 events/s the ingest thread wrote
 * 30.2–30.9 MB/s against 21 plain, and 26.4–26.5 with this interval (measured, per-thread
 * write_bytes). Applied profiles do not wait for them; the destinations and the lake see them
 * this much later at most.
 */
const OUTBOX_INTERVAL_MS = 100;

/** Profiles the audience timer evaluates per step before a waiting batch may run (~15 ms). */
const SWEEP_CHUNK = 100;

export interface ProcessorOptions {
  batchSize: number;
  pollMs: number;
  /**
   * After a partial batch, wait this long before the next one so events accumulate: a few
   * milliseconds of freshness buy far fewer, larger commits (Kafka's linger.ms).
   */
  lingerMs?: number;
  metrics?: Metrics;
  logger?: Logger;
  /** Which identifiers link events into profiles, and the merge limits. */
  rules: IdentityRules;
  /** Computed traits and sessions to maintain. */
  model?: ProfileModel;
  /** Called after each committed batch with the positions it reached. */
  onProgress?: (progress: Progress) => void;
  /**
   * Appends Mosaic's own events (audience enter/exit) to the log, from their outbox entries
   * (PendingAudienceEvent as JSON: see appendAudienceEvents); resolves once they are durable.
   * Without it no such event is written (a replay: they were sent once).
   */
  emit?: (pending: string[]) => Promise<void>;
  /** Appends of audience events begin at most this often (default OUTBOX_INTERVAL_MS). */
  outboxIntervalMs?: number;
  /** Parts kept in memory between batches (0 or absent: none). */
  cachedParts?: number;
  /** User transformations (see docs/transformations.md). */
  transform?: Transformations;
  /** The audience timer (see config audienceTimer); off when absent. */
  audienceTimer?: { intervalMs: number; profilesPerTick: number; backfillPerTick: number; sizeSampleSeconds: number };
  /** Which partitions this processor applies (default: all of them, the embedded case). */
  leases?: PartitionLeases;
  /** Profiles cached for the API: the identities of every profile a commit changed are dropped from it. */
  cache?: ProfileCache;
}

/** Where an audience backfill stands; kept in the store's meta so the API can show it. */
export interface BackfillState {
  audiences: string[];
  done: number;
  total: number;
  startedAt: string;
  finishedAt?: string;
}

export const AUDIENCES_META = 'audiences';
export const BACKFILL_META = 'audiences.backfill';
/** The last regular pass of the audience timer that completed: `stepMs:step`. */
const PASS_META = 'audiences.pass';

export interface Lag {
  events: number;
  seconds: number;
}

/** Where a processor stands: next offset to read per partition (null: held by another processor), and the newest event applied. */
export interface Progress {
  positions: (number | null)[];
  newestAppliedMs: number;
}

/**
 * Lag from the log's end offsets and a processor's positions. Whoever appends knows the ends
 * the moment a commit lands, so lag never reads a stale zero after an append. Offsets that
 * leave gaps (EventLogCapabilities.offsetStride) make it an estimate: distance / stride.
 */
export function lagOf(ends: readonly number[], p: Progress, now = Date.now(), stride = 1): Lag {
  let events = 0;
  for (let i = 0; i < ends.length; i++) {
    const at = p.positions[i];
    if (at !== null) events += Math.ceil(Math.max(0, (ends[i] ?? 0) - (at ?? 1)) / stride);
  }
  const seconds = events > 0 && p.newestAppliedMs > 0 ? Math.max(0, (now - p.newestAppliedMs) / 1000) : 0;
  return { events, seconds };
}

function sameTokens(a: ReadonlyMap<number, string>, b: ReadonlyMap<number, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [p, t] of a) if (b.get(p) !== t) return false;
  return true;
}

/**
 * Consumes the log and keeps profiles current. Each batch's profile writes and the offsets
 * it consumed commit in one transaction: a crash replays at most the uncommitted batch, and
 * the replay applies it exactly once.
 */
export class Processor {
  private offsets = new Map<number, number>();
  /**
   * Offsets reached over batches of nothing but Mosaic's own audience events, not stored yet:
   * such a batch changes no profile, yet had a transaction of its own: 46% of the processor's
   * commits at 5,000 events/s with ten audiences (measured). They are stored with the next batch,
   * or once the log has been quiet for pollMs; a crash before that reads those events again,
   * which changes nothing.
   */
  private readonly unsaved = new Map<number, number>();
  private unsavedSince = 0;
  /** Parts this processor committed last: a person's events come in bursts. Bounded (invariant 6). */
  private readonly parts: PartCache | undefined;
  /** Profiles' audiences as this processor committed them last; kept with the parts, bounded alike. */
  private readonly memberships: MembershipCache | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private wakeSleeper: (() => void) | undefined;
  private unsubscribe: (() => void) | undefined;
  private newestAppliedMs = 0;
  private readonly leases: PartitionLeases;
  /** Partitions came or went: offsets are read again from the store before the next batch. */
  private leasesChanged = false;
  /** The lease tokens the current offsets were read under. */
  private tokens: ReadonlyMap<number, string> = new Map();
  private readonly uninvalidated = new Set<string>();
  private cacheNeedsClear = false;
  private lastCacheWarning = 0;

  constructor(
    private readonly log: EventLog,
    private readonly store: ProfileStore,
    private readonly opts: ProcessorOptions,
  ) {
    // A shared store's parts may be changed by another processor between two batches: no cache.
    if (opts.cachedParts && !store.transactional) {
      this.parts = new PartCache(opts.cachedParts);
      this.memberships = new MembershipCache(opts.cachedParts);
    }
    this.leases = opts.leases ?? new AllPartitions(log.partitions);
  }

  async init(): Promise<void> {
    await this.readOffsets();
    await this.suppression.refresh(this.store);
    await this.leases.start(() => {
      this.leasesChanged = true;
      this.opts.logger?.info({ partitions: [...this.leases.held()].sort((a, b) => a - b), owner: this.leases.owner }, 'partitions held');
      this.opts.onProgress?.(this.progress()); // the host learns what is held (and who leads) before the next batch
      this.wake();
    });
    await this.planBackfill();
    this.flushSoon(); // what a crash left between commit and append
  }

  private async readOffsets(): Promise<void> {
    this.offsets = await this.store.readOffsets();
    this.unsaved.clear(); // read again from the store: audience events are read again, which changes nothing
    for (let p = 0; p < this.log.partitions; p++) if (!this.offsets.has(p)) this.offsets.set(p, 1);
  }

  /** The audience timer, backfills and size samples run in one processor: the holder of partition 0. */
  private get leader(): boolean {
    return this.leases.held().has(0);
  }

  /** `work` on the store: in one retried serializable transaction where the store is shared. */
  private inTransaction<T>(work: (store: ProfileStore) => Promise<T>): Promise<T> {
    return this.store.transactional ? this.store.transactional(work) : work(this.store);
  }

  private sweepCursor: string | undefined;
  private backfill: BackfillState | undefined;
  private lastSizeSample = 0;
  private lastBackfillLog = 0;

  /**
   * What an audience's members were computed with: its rule, and the consent default (people
   * without a recorded choice are in no audience when it is 'denied'), since the timer's regular
   * pass re-evaluates only audiences that change with time.
   */
  private fingerprintOf(a: CompiledAudience): string {
    return this.opts.model?.consentDefault === 'denied' ? `${a.fingerprint}|consent:denied` : a.fingerprint;
  }

  /** Audiences added or changed since the profiles were evaluated are computed for every existing profile. */
  private async planBackfill(): Promise<void> {
    const audiences = this.opts.model?.audiences ?? [];
    const stored = JSON.parse((await this.store.getMeta(AUDIENCES_META)) ?? '{}') as Record<string, string>;
    const changed = audiences.filter((a) => stored[a.def.name] !== this.fingerprintOf(a)).map((a) => a.def.name);
    const removed = Object.keys(stored).filter((n) => !audiences.some((a) => a.def.name === n));
    const step = this.stepOf(Date.now());
    if ((await this.store.scanClusters(undefined, 1)).length === 0) {
      // No profile yet: each one is evaluated by the batch that creates it, so there is nothing to
      // backfill and no pass due this step. A backfill begun on an empty store chased the profiles
      // being created instead (about 5% of the processor's time in the bench's freshness runs).
      this.passStep = step;
      if (changed.length || removed.length) await this.store.setMeta(AUDIENCES_META, JSON.stringify(this.fingerprints()));
      return;
    }
    if ((await this.store.getMeta(PASS_META)) === this.passKey(step)) this.passStep = step;
    if (changed.length === 0 && removed.length === 0) return;
    this.backfill = { audiences: [...changed, ...removed], done: 0, total: await this.store.countProfiles(), startedAt: new Date().toISOString() };
    this.sweepCursor = undefined;
    await this.store.setMeta(BACKFILL_META, JSON.stringify(this.backfill));
    this.opts.logger?.info({ audiences: this.backfill.audiences, profiles: this.backfill.total }, 'audiences added or changed: computing them for existing profiles');
  }

  /**
   * One tick of the audience timer: re-evaluates the next slice of profiles (the cursor wraps
   * around), records sizes now and then, and finishes a backfill when a pass completes. The
   * slice is swept SWEEP_CHUNK profiles at a time with batches let in between: one slice of
   * 2,000 in a single step held the processor for 300-450 ms (measured), which was the p99 of
   * event-to-profile freshness whenever audiences were configured.
   */
  async sweepOnce(now = Date.now()): Promise<number> {
    const timer = this.opts.audienceTimer;
    const budget = this.backfill ? (timer?.backfillPerTick ?? 20_000) : (timer?.profilesPerTick ?? 2000);
    let swept = 0;
    while (swept < budget) {
      const run = this.serial.then(() => this.sweep(now, Math.min(SWEEP_CHUNK, budget - swept)));
      this.serial = run.catch(() => undefined);
      const n = await run;
      swept += n;
      if (n === 0 || this.sweepCursor === undefined) break; // a pass ended: the next tick starts the next one
      await new Promise((r) => setImmediate(r)); // a batch waiting to run goes first
    }
    return swept;
  }

  private async sweep(now: number, limit: number): Promise<number> {
    const model = this.opts.model;
    const timer = this.opts.audienceTimer;
    if (!model?.audiences?.length && !this.backfill) return 0;
    // Outside a backfill only audiences that change with time are re-evaluated; with none, no
    // profile needs reading and the timer only records sizes.
    const timedOnly = !this.backfill;
    let scanned = 0;
    let next: string | undefined;
    if (!timedOnly || this.timeMoved(now)) {
      const cursor = this.sweepCursor;
      const swept = await this.inTransaction((store) => sweepAudiences(store, model ?? {}, cursor, limit, { emit: this.opts.emit !== undefined, now, timedOnly, ...this.caches() }));
      await this.invalidate(swept.touched);
      ({ next, scanned } = swept);
      for (const t of swept.transitions) this.opts.metrics?.audienceTransitions.inc({ audience: t.audience, kind: t.kind });
      if (swept.transitions.length) this.flushSoon();
      // A regular pass done is remembered: a restart within the same step need not do it again.
      if (timedOnly && next === undefined && this.passStep !== undefined) await this.store.setMeta(PASS_META, this.passKey(this.passStep));
    }
    this.sweepCursor = next;
    if (this.backfill) {
      this.backfill.done += scanned;
      if (now - this.lastBackfillLog >= 5000 && next !== undefined) {
        this.lastBackfillLog = now;
        this.opts.logger?.info({ audiences: this.backfill.audiences, done: this.backfill.done, total: this.backfill.total }, 'audience backfill in progress');
      }
      if (next === undefined) {
        this.backfill.finishedAt = new Date().toISOString();
        this.backfill.total = this.backfill.done;
        await this.store.setMeta(AUDIENCES_META, JSON.stringify(this.fingerprints()));
        this.opts.logger?.info({ audiences: this.backfill.audiences, profiles: this.backfill.done }, 'audience backfill done');
      }
      await this.store.setMeta(BACKFILL_META, JSON.stringify(this.backfill));
      if (next === undefined) this.backfill = undefined;
    }
    const sampleMs = (timer?.sizeSampleSeconds ?? 60) * 1000;
    if (now - this.lastSizeSample >= sampleMs) {
      this.lastSizeSample = now;
      const counts = await this.store.audienceCounts();
      const sizes = new Map((model?.audiences ?? []).map((a) => [a.def.name, counts.get(a.def.name) ?? 0]));
      await this.store.recordAudienceSizes(now, sizes);
    }
    return scanned;
  }

  /** The time step the current regular pass began in (see timeMoved). */
  private passStep: number | undefined;

  /**
   * Whether a regular pass is due: one is under way, or time has moved into a new step since the
   * last one began (a window's bucket, an hour of rfm recency). Within a step no membership
   * changes with time, so one pass per step finds every exit and entry that time makes.
   */
  private timeMoved(now: number): boolean {
    const audiences = this.opts.model?.audiences ?? [];
    if (!audiences.some((a) => a.changesWithTime)) return false;
    if (this.sweepCursor !== undefined) return true;
    const step = this.stepOf(now);
    if (step === this.passStep) return false;
    this.passStep = step;
    return true;
  }

  private get stepMs(): number {
    return timeStepMs(this.opts.model?.ruleTraits ?? this.opts.model?.computedTraits ?? []) ?? 0;
  }

  /** The time step `now` falls in: within one, no membership changes with time. */
  private stepOf(now: number): number {
    return this.stepMs > 0 ? Math.floor(now / this.stepMs) : now;
  }

  /** A regular pass as kept in the store's meta: the step's length too, as a change of windows changes steps. */
  private passKey(step: number): string {
    return `${this.stepMs}:${step}`;
  }

  private fingerprints(): Record<string, string> {
    return Object.fromEntries((this.opts.model?.audiences ?? []).map((a) => [a.def.name, this.fingerprintOf(a)]));
  }

  /** Runs the timer until one whole pass is done (tests, and a backfill on demand). */
  async sweepAll(now = Date.now()): Promise<void> {
    do await this.sweepOnce(now);
    while (this.sweepCursor !== undefined);
    await this.outboxFlushed();
  }

  private flushing: Promise<void> | undefined;
  private flushAgain = false;
  /** A flush waiting for outboxIntervalMs to pass since the last one began. */
  private flushTimer: NodeJS.Timeout | undefined;
  private lastFlushAt = -Infinity;

  /**
   * Appends the outbox in the background: batches go on while the log commits (an fsync), one
   * flush at a time, and at most one every outboxIntervalMs, so the audience events of the
   * batches in between share one append. The entries are already durable in the store, so
   * nothing waits on this.
   */
  private flushSoon(): void {
    if (!this.opts.emit) return;
    if (this.flushing) {
      this.flushAgain = true;
      return;
    }
    if (this.flushTimer) return;
    const wait = this.lastFlushAt + (this.opts.outboxIntervalMs ?? OUTBOX_INTERVAL_MS) - performance.now();
    if (wait > 0) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = undefined;
        this.flushSoon();
      }, wait);
      return;
    }
    const started = performance.now();
    this.flushAgain = false;
    this.flushing = this.flushOutbox()
      .then(
        (appended) => {
          if (appended) this.lastFlushAt = started; // a flush that found nothing holds nothing back
        },
        // The store could not be read or cleared: the entries stay for the next flush.
        (err: unknown) => this.opts.logger?.error({ err }, 'could not flush the audience events outbox; retrying with the next batch'),
      )
      .finally(() => {
        this.flushing = undefined;
        if (this.flushAgain) this.flushSoon();
      });
  }

  /** Resolves once everything committed to the outbox so far has been appended (or failed to be). */
  async outboxFlushed(): Promise<void> {
    for (;;) {
      if (this.flushTimer) {
        // Someone waits for the events: no reason to hold them back.
        clearTimeout(this.flushTimer);
        this.flushTimer = undefined;
        this.lastFlushAt = -Infinity;
        this.flushSoon();
      }
      if (!this.flushing) return;
      await this.flushing;
    }
  }

  /** Appends committed outbox entries to the log; a failure leaves them for the next try. Resolves whether any were appended. */
  private async flushOutbox(): Promise<boolean> {
    const emit = this.opts.emit;
    if (!emit) return false;
    for (let appended = false; ; appended = true) {
      const entries = await this.store.readOutbox(1000);
      if (entries.length === 0) return appended;
      try {
        await emit(entries.map((e) => e.payload));
      } catch (err) {
        this.opts.logger?.warn({ err }, 'could not append audience events to the log; retrying later');
        return appended;
      }
      await this.store.deleteOutbox(entries.map((e) => e.id));
    }
  }

  /**
   * Drops committed profiles from the API's cache. While the cache cannot be reached the keys
   * wait (readers fall back to the store meanwhile); too many, and it is cleared instead.
   */
  private async invalidate(keys: Iterable<string>): Promise<void> {
    const cache = this.opts.cache;
    if (!cache) return;
    for (const k of keys) this.uninvalidated.add(k);
    if (this.uninvalidated.size > MAX_PENDING_INVALIDATIONS) {
      this.uninvalidated.clear();
      this.cacheNeedsClear = true;
    }
    try {
      if (this.cacheNeedsClear) await cache.clear();
      else if (this.uninvalidated.size) await cache.invalidate(this.uninvalidated);
      this.cacheNeedsClear = false;
      this.uninvalidated.clear();
    } catch (err) {
      const now = Date.now();
      if (now - this.lastCacheWarning > 10_000) {
        this.lastCacheWarning = now;
        this.opts.logger?.warn({ err, waiting: this.uninvalidated.size }, 'profile cache unreachable: invalidations wait for it');
      }
    }
  }

  private caches(): { cache?: PartCache; memberships?: MembershipCache } {
    return { ...(this.parts ? { cache: this.parts } : {}), ...(this.memberships ? { memberships: this.memberships } : {}) };
  }

  private serial: Promise<unknown> = Promise.resolve();
  private readonly suppression = new SuppressionList();

  /**
   * Commits an erasure between two batches: no batch read before it commits after it, and the
   * parts this processor remembers are forgotten, so nothing of the person is written back.
   */
  erase(commit: ErasureCommit, keys: readonly IdentityKey[]): Promise<void> {
    const run = this.serial.then(async () => {
      await this.inTransaction((store) => store.commit(commit));
      this.parts?.clear();
      this.memberships?.clear();
      await this.suppression.refresh(this.store);
      await this.invalidate(keys);
    });
    this.serial = run.catch(() => undefined);
    return run;
  }

  /**
   * Applies up to batchSize events; returns how many. Calls are serialised: two batches
   * reading the same offsets concurrently would apply the same events twice.
   */
  runOnce(): Promise<number> {
    const run = this.serial.then(() => this.applyNextBatch());
    this.serial = run.catch(() => undefined);
    return run;
  }

  private async applyNextBatch(): Promise<number> {
    const tokens = new Map(this.leases.tokens());
    if (this.leasesChanged || !sameTokens(tokens, this.tokens)) {
      // Another processor may have advanced a partition this one now holds.
      this.leasesChanged = false;
      this.tokens = tokens;
      await this.readOffsets();
    }
    const held = this.leases.held();
    if (held.size === 0) return 0;
    const ends = await this.log.endOffsets();
    const waiting: number[] = [];
    for (const p of held) if ((ends[p] ?? 0) > this.offsets.get(p)!) waiting.push(p);
    if (waiting.length === 0) return 0;
    const per = Math.max(1, Math.ceil(this.opts.batchSize / waiting.length));
    const entries: LogEntry[] = [];
    const consumed = new Map<number, number>();
    for (const p of waiting) {
      const got = await this.log.read(p, this.offsets.get(p)!, per);
      if (got.length === 0) continue;
      for (const e of got) entries.push(e);
      consumed.set(p, got[got.length - 1]!.offset + 1);
    }
    if (entries.length === 0) return 0;

    // Mosaic's own audience events are in the log for the lake and destinations, not for
    // profiles: a third of the entries with ten audiences, skipped without being parsed.
    const sent: LogEntry[] = [];
    let events: Envelope[] = [];
    for (const entry of entries) {
      if (entry.payload.startsWith(AUDIENCE_EVENT_PREFIX)) continue;
      const e = JSON.parse(entry.payload) as Envelope;
      if (e.sourceId === AUDIENCE_SOURCE_ID) continue; // appended before the prefix was
      sent.push(entry);
      events.push(e);
    }
    if (sent.length === 0 && (this.unsaved.size === 0 || Date.now() - this.unsavedSince < MAX_UNSAVED_MS)) {
      if (this.unsaved.size === 0) this.unsavedSince = Date.now();
      for (const [p, next] of consumed) {
        this.offsets.set(p, next);
        this.unsaved.set(p, next);
      }
      return this.applied(entries, sent, undefined);
    }
    // Stored with this batch's; a partition no longer held is read again by its new holder.
    const offsets = new Map([...this.unsaved].filter(([p]) => held.has(p)));
    for (const [p, next] of consumed) offsets.set(p, next);
    let attempts = 0;
    let outcome: BatchOutcome;
    try {
      outcome = await this.inTransaction(async (store) => {
        // Parsed again for a retry: enrichment and transformations change the events they are given.
        if (attempts++ > 0) events = sent.map((e) => JSON.parse(e.payload) as Envelope);
        // Another process may erase on a shared store: its list is read in this batch's
        // transaction. A single writer's changes only through erase(), which refreshes it.
        if (this.store.transactional) await this.suppression.refresh(store);
        return applyBatch(store, events, offsets, this.opts.rules, this.opts.model, {
          emit: this.opts.emit !== undefined,
          refs: sent,
          ...this.caches(),
          ...(this.opts.transform ? { transform: this.opts.transform } : {}),
          fence: this.fenceOf(offsets.keys(), tokens),
          ...(this.log.capabilities.dedup === 'message' ? { dedup: { at: Date.now() } } : {}),
          suppression: this.suppression,
        });
      });
    } catch (err) {
      if (!(err instanceof PartitionLostError)) throw err;
      this.opts.logger?.warn({ partitions: err.partitions }, 'partitions taken over by another processor mid-batch; the batch was not committed');
      this.leasesChanged = true;
      return 0;
    }
    await this.invalidate(outcome.touched);
    for (const [p, next] of offsets) this.offsets.set(p, next);
    this.unsaved.clear();
    await this.forgetSeenMessages();
    return this.applied(entries, sent, outcome);
  }

  /**
   * Metrics, freshness and progress for a batch of `entries` applied (`outcome`) or skipped as
   * only audience events; `sent` are those of its entries that sources sent.
   */
  private applied(entries: readonly LogEntry[], sent: readonly LogEntry[], outcome: BatchOutcome | undefined): number {
    const now = Date.now();
    const m = this.opts.metrics;
    m?.processedEvents.inc(entries.length);
    m?.processorBatchEvents.observe(entries.length);
    if (m && outcome) {
      const { merges, conflicts, reclustered, transitions, deadLetters, dropped, duplicates, suppressed } = outcome;
      if (merges) m.profileMerges.inc(merges);
      if (conflicts) m.identityConflicts.inc(conflicts);
      if (reclustered) m.identityReclusters.inc();
      for (const t of transitions) m.audienceTransitions.inc({ audience: t.audience, kind: t.kind });
      for (const d of deadLetters) m.deadLetters.inc({ kind: d.kind, name: d.name });
      if (dropped) m.transformationDropped.inc(dropped);
      if (duplicates) m.processorDuplicates.inc(duplicates);
      if (suppressed) m.eventsSuppressed.inc({ stage: 'processor' }, suppressed);
    }
    for (const e of entries) if (e.receivedAtMs > this.newestAppliedMs) this.newestAppliedMs = e.receivedAtMs;
    // Mosaic's own audience events are not applied to profiles: not part of event-to-profile freshness.
    for (const e of sent) m?.freshnessSeconds.observe((now - e.receivedAtMs) / 1000);
    this.sentBySources = sent.length > 0;
    this.opts.onProgress?.(this.progress());
    if (outcome?.transitions.length) this.flushSoon();
    return entries.length;
  }

  /** The lease tokens to fence a commit of these partitions' offsets with. */
  private fenceOf(partitions: Iterable<number>, tokens: ReadonlyMap<number, string>): Map<number, string> {
    return new Map([...partitions].flatMap((p) => (tokens.has(p) ? [[p, tokens.get(p)!] as const] : [])));
  }

  /** Stores the offsets reached over audience events alone (see unsaved), between two batches. */
  private saveUnsaved(): Promise<void> {
    const run = this.serial.then(async () => {
      if (this.unsaved.size === 0) return;
      const held = this.leases.held();
      const offsets = new Map([...this.unsaved].filter(([p]) => held.has(p)));
      try {
        await this.inTransaction((store) => store.commit({ offsets, fence: this.fenceOf(offsets.keys(), this.tokens) }));
      } catch (err) {
        if (!(err instanceof PartitionLostError)) throw err;
        this.leasesChanged = true; // the new holder reads those events again
      }
      this.unsaved.clear();
    });
    this.serial = run.catch(() => undefined);
    return run;
  }

  private lastForget = Date.now();

  /** The leader forgets applied messages older than the log's dedup window, once a minute. */
  private async forgetSeenMessages(): Promise<void> {
    if (this.log.capabilities.dedup !== 'message' || !this.leader || Date.now() - this.lastForget < 60_000) return;
    this.lastForget = Date.now();
    const forgotten = await this.store.forgetSeenMessages(this.lastForget - this.log.capabilities.dedupWindowMs);
    if (forgotten) this.opts.logger?.debug({ forgotten }, 'forgot applied messages past the dedup window');
  }

  progress(): Progress {
    const held = this.leases.held();
    return { positions: Array.from({ length: this.log.partitions }, (_, p) => (held.has(p) ? (this.offsets.get(p) ?? 1) : null)), newestAppliedMs: this.newestAppliedMs };
  }

  /** Processes until the log has nothing more (replay, tests). */
  async drain(onProgress?: (applied: number) => void): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.runOnce();
      if (n === 0) {
        // Audience events still being appended would be more log to apply.
        if (!this.flushing && !this.flushTimer) {
          await this.saveUnsaved();
          return total;
        }
        await this.outboxFlushed();
        continue;
      }
      total += n;
      onProgress?.(total);
    }
  }

  /** New data is in the log: stop sleeping. */
  wake(): void {
    this.wakeSleeper?.();
  }

  private timer: NodeJS.Timeout | undefined;
  /**
   * The last batch held events that sources sent, not only Mosaic's own audience events. Only
   * those are worth a linger: the audience events of a batch are appended just after it, and
   * lingering after them delayed the next request's events by up to lingerMs (measured).
   */
  private sentBySources = false;
  /** The last batch found events: the processor is busy with a stream of them. */
  private behind = false;

  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribe = this.log.onAppend(() => this.wake());
    this.loop = this.run();
    const t = this.opts.audienceTimer;
    if (t && (this.opts.model?.audiences?.length || this.backfill)) {
      let busy = false;
      let lastSweep = 0;
      this.timer = setInterval(() => {
        if (busy || !this.leader) return;
        // Windows expire on the timer, which is not urgent: under load it yields to the batches
        // (events make fresh profiles), but runs at least every ten intervals.
        const now = Date.now();
        if (this.behind && now - lastSweep < 10 * t.intervalMs) return;
        lastSweep = now;
        busy = true;
        this.sweepOnce()
          .catch((err: unknown) => this.opts.logger?.error({ err }, 'audience timer failed; retrying next tick'))
          .finally(() => (busy = false));
      }, t.intervalMs);
    }
  }

  private async run(): Promise<void> {
    while (this.running) {
      let n: number;
      const started = performance.now();
      try {
        n = await this.runOnce();
      } catch (err) {
        // The batch rolled back; its offsets were not advanced. Retry after a pause.
        this.opts.logger?.error({ err }, 'processor batch failed; retrying');
        await this.sleep(1000);
        continue;
      }
      this.behind = n > 0;
      if (n >= this.opts.batchSize) await new Promise((r) => setImmediate(r)); // backlog: keep going
      else if (n > 0 && this.opts.lingerMs && this.sentBySources) {
        // Counted from the batch's start, so batches begin at most once per lingerMs: a slow
        // batch is not followed by a full wait as well.
        const wait = this.opts.lingerMs - (performance.now() - started);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      else if (n === 0) {
        // Caught up: until woken by an append. Offsets over audience events alone are stored once
        // the log is quiet, or have waited long enough.
        const woken = await this.sleep(this.opts.pollMs);
        if (this.unsaved.size && (!woken || Date.now() - this.unsavedSince >= MAX_UNSAVED_MS)) {
          await this.saveUnsaved().catch((err: unknown) => this.opts.logger?.error({ err }, 'could not store the offsets reached; retrying'));
        }
      }
    }
  }

  /** Resolves true if woken before `ms`. */
  private sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const t = setTimeout(() => done(false), ms);
      function done(woken: boolean) {
        clearTimeout(t);
        resolve(woken);
      }
      this.wakeSleeper = () => {
        this.wakeSleeper = undefined;
        done(true);
      };
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    await this.outboxFlushed();
    this.unsubscribe?.();
    this.wake();
    await this.loop;
    await this.saveUnsaved().catch((err: unknown) => this.opts.logger?.warn({ err }, 'could not store the offsets reached over audience events; they are read again at start'));
    await this.leases.stop(); // after the last batch: others take over from its offsets
  }
}
