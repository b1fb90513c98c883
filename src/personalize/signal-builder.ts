import { LRUCache } from 'lru-cache';
import { setImmediate, setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { AUDIENCE_EVENT_PREFIX } from '../core/audiences.js';
import type { Envelope } from '../core/envelope.js';
import { interactionReader, type InteractionDef, type InteractionKind } from '../core/interactions.js';
import type { Metrics } from '../observe/metrics.js';
import type { EventLog } from '../ports/event-log.js';
import { SignalPositionsMoved, type HalfLives, type ItemScoreDelta, type ItemStore, type PairDelta } from '../ports/item-store.js';

export interface SignalSettings {
  interactions: readonly InteractionDef[];
  weights: Record<InteractionKind, number>;
  halfLifeDays: { popular: number; trending: number; view: number; purchase: number };
  pairWindowHours: number;
  peopleInMemory: number;
  recentItems: number;
}

interface Seen {
  item: string;
  at: number;
  kind: InteractionKind;
}

const DAY = 86_400_000;

/**
 * Log entries read and parsed between two turns of the event loop. The builder shares its thread
 * with ingest: a batch of 5,000 in one go held the event loop for 21–55 ms every half second
 * (measured at 7,834 events/s), and the requests that waited meanwhile reached the log, and the
 * processor, as one burst.
 */
const SLICE_ENTRIES = 500;

export const halfLivesOf = (s: SignalSettings): HalfLives => ({
  popular: s.halfLifeDays.popular * DAY,
  trending: s.halfLifeDays.trending * DAY,
  view: s.halfLifeDays.view * DAY,
  purchase: s.halfLifeDays.purchase * DAY,
});

/**
 * What each interaction adds to the item signals: popularity and trending for its items, and
 * pairs with what the same person did before (viewed within the window; bought at any time they
 * are remembered). Remembers the `peopleInMemory` most recently active people (invariant 6).
 */
export class SignalAccumulator {
  private readonly people: LRUCache<string, Seen[]>;
  private readonly read: ReturnType<typeof interactionReader>;

  constructor(private readonly settings: SignalSettings) {
    this.people = new LRUCache({ max: settings.peopleInMemory });
    this.read = interactionReader(settings.interactions);
  }

  /** Forgets what these people did (an erasure): their next interactions pair with nothing before. */
  forget(people: readonly string[]): void {
    for (const p of people) this.people.delete(p);
  }

  /** Adds the event's deltas to `scores` and `pairs`; returns its interaction kind, if it is one. */
  add(e: Envelope, scores: ItemScoreDelta[], pairs: PairDelta[]): InteractionKind | undefined {
    const hit = this.read(e);
    if (!hit) return undefined;
    const at = Date.parse(e.timestamp);
    if (!Number.isFinite(at)) return undefined;
    const w = this.settings.weights[hit.kind];
    if (w > 0) {
      for (const item of hit.items) {
        scores.push({ signal: 'popular', item, score: w, at }, { signal: 'trending', item, score: w, at });
      }
    }
    const person = e.userId ?? e.anonymousId;
    if (!person) return hit.kind;
    const before = this.people.get(person) ?? [];
    const both = (a: string, b: string, kind: 'view' | 'purchase') => {
      pairs.push({ kind, a, b, score: 1, at }, { kind, a: b, b: a, score: 1, at });
    };
    const windowMs = this.settings.pairWindowHours * 3_600_000;
    if (hit.kind === 'purchase') {
      // Bought together: in one order, or by one person at any time they are remembered.
      for (let i = 0; i < hit.items.length; i++) for (let j = i + 1; j < hit.items.length; j++) both(hit.items[i]!, hit.items[j]!, 'purchase');
      for (const s of before) if (s.kind === 'purchase') for (const item of hit.items) if (item !== s.item) both(item, s.item, 'purchase');
    } else {
      for (const s of before) {
        if (s.kind === 'purchase' || Math.abs(at - s.at) > windowMs) continue;
        for (const item of hit.items) if (item !== s.item) both(item, s.item, 'view');
      }
    }
    // Remember the newest of each (item, purchase or not), newest first.
    const bought = hit.kind === 'purchase';
    const kept = before.filter((s) => !(hit.items.includes(s.item) && (s.kind === 'purchase') === bought));
    this.people.set(person, [...hit.items.map((item) => ({ item, at, kind: hit.kind })), ...kept].slice(0, this.settings.recentItems));
    return hit.kind;
  }

}

/**
 * Turns the log's item interactions into item signals: popularity and trending (decayed sums
 * of weighted interactions) and co-occurrence (items one person viewed close in time, or bought).
 * A log consumer of its own, beside the processor: its position is committed with the signals
 * it produced, so each entry counts once however often the builder stops and starts.
 *
 * Pairs need each person's recent items: kept in memory for the `peopleInMemory` most recently
 * active people (invariant 6). After a restart, a person's next interactions pair with what they
 * do from then on; popularity is exact either way.
 */
export class SignalBuilder {
  private positions: number[] = [];
  /** As stored (undefined: never built): what a batch's commit expects to find. */
  private stored: number[] | undefined;
  private readonly accumulator: SignalAccumulator;
  private readonly halfLives: HalfLives;
  /** For logs that let some repeats through (capabilities.dedup 'message'): messages seen lately. */
  private readonly recentMessages: LRUCache<string, true> | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  /** Ends the loop's waits at once when stopping. */
  private readonly stopping = new AbortController();

  constructor(
    private readonly log: EventLog,
    private readonly items: ItemStore,
    private readonly settings: SignalSettings,
    private readonly opts: {
      metrics?: Metrics;
      logger?: Logger;
      batchEntries?: number;
      active?: () => boolean;
      /** Told the pairs each committed batch changed (a cache of co-occurrence lists in this process forgets them). */
      onPairsChanged?: (pairs: readonly PairDelta[]) => void;
    } = {},
  ) {
    this.accumulator = new SignalAccumulator(settings);
    this.halfLives = halfLivesOf(settings);
    this.recentMessages = log.capabilities.dedup === 'message' ? new LRUCache({ max: 200_000 }) : undefined;
  }

  async init(): Promise<void> {
    this.stored = await this.items.signalPositions();
    this.positions = this.stored ?? [];
  }

  /** Applies the next batch of log entries; resolves with how many it read (0: caught up). Calls are serialised. */
  runOnce(): Promise<number> {
    const run = this.serial.then(() => this.applyNextBatch());
    this.serial = run.catch(() => undefined);
    return run;
  }

  private serial: Promise<unknown> = Promise.resolve();

  private async applyNextBatch(): Promise<number> {
    const ends = await this.log.endOffsets();
    const max = this.opts.batchEntries ?? 5000;
    const next = [...this.positions];
    const scores: ItemScoreDelta[] = [];
    const pairs: PairDelta[] = [];
    let read = 0;
    for (let p = 0; p < ends.length && read < max; p++) {
      while (read < max && (next[p] ?? 1) < (ends[p] ?? 1)) {
        if (read > 0) await setImmediate(); // the requests that arrived meanwhile go first
        const got = await this.log.read(p, next[p] ?? 1, Math.min(SLICE_ENTRIES, max - read));
        if (got.length === 0) break;
        for (const entry of got) {
          read++;
          next[p] = entry.offset + 1;
          // Mosaic's own audience events name no item: skipped unparsed, as the processor skips them.
          if (entry.payload.startsWith(AUDIENCE_EVENT_PREFIX)) continue;
          this.apply(JSON.parse(entry.payload) as Envelope, scores, pairs);
        }
      }
    }
    for (let p = 0; p < ends.length; p++) next[p] ??= this.positions[p] ?? 1;
    if (read === 0) return 0;
    try {
      await this.items.applySignals({ scores, pairs, ...(this.stored ? { from: this.stored } : {}), positions: next }, this.halfLives);
    } catch (err) {
      if (!(err instanceof SignalPositionsMoved)) throw err;
      // Another builder (a processor that took over partition 0) committed first: start from where it is.
      this.opts.logger?.info('personalization: another builder moved the item signals on; continuing from its position');
      await this.init();
      return read;
    }
    this.positions = this.stored = next;
    if (pairs.length) this.opts.onPairsChanged?.(pairs);
    return read;
  }

  private apply(e: Envelope, scores: ItemScoreDelta[], pairs: PairDelta[]): void {
    if (this.recentMessages) {
      const key = `${e.sourceId}\u0000${e.messageId}`;
      if (this.recentMessages.has(key)) return;
      this.recentMessages.set(key, true);
    }
    const kind = this.accumulator.add(e, scores, pairs);
    if (kind) this.opts.metrics?.signalEvents.inc({ kind });
  }

  /** An erasure: the recent items it remembers of these people (by user id and anonymous id) go. */
  forget(people: readonly string[]): void {
    this.accumulator.forget(people);
  }

  /** Log entries not yet read (an estimate on a log with offset gaps). */
  async lag(): Promise<number> {
    const ends = await this.log.endOffsets();
    const stride = this.log.capabilities.offsetStride;
    return ends.reduce((a, end, p) => a + Math.ceil(Math.max(0, end - (this.positions[p] ?? 1)) / stride), 0);
  }

  /** Reads until caught up with the log as it was when called (tests, `mosaic` one-shot commands). */
  async drain(): Promise<number> {
    let total = 0;
    for (let n = await this.runOnce(); n > 0; n = await this.runOnce()) total += n;
    return total;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const active = this.opts.active ?? (() => true);
    let building = active();
    this.loop = (async () => {
      while (this.running) {
        try {
          if (!active()) {
            building = false;
            await this.sleep(1000);
            continue;
          }
          if (!building) {
            building = true;
            await this.init(); // where the previous holder stopped
          }
          // Polled, not woken by each append: a batch per half second keeps commits few at any ingest rate.
          if ((await this.runOnce()) < (this.opts.batchEntries ?? 5000)) await this.sleep(500);
        } catch (err) {
          this.opts.logger?.error({ err }, 'personalization: building item signals failed; retrying');
          await this.sleep(1000);
        }
      }
    })();
  }

  private sleep(ms: number): Promise<void> {
    return delay(ms, undefined, { signal: this.stopping.signal }).catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopping.abort();
    await this.loop;
  }
}
