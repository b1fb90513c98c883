import type { Logger } from 'pino';
import type { Envelope } from '../core/envelope.js';
import { forwards, type ForwardRule } from '../core/destination-filter.js';
import type { Metrics } from '../observe/metrics.js';
import type { ConsentGate } from '../privacy/consent-gate.js';
import type { EventLog } from '../ports/event-log.js';
import type { DeadLetter, ProfileStore } from '../ports/profile-store.js';
import { postWebhook, type SendResult, type WebhookTarget } from './webhook.js';

export interface DestinationDef extends WebhookTarget {
  name: string;
  forward: ForwardRule;
  /** Events per request. */
  batchSize: number;
  /** Attempts before the events are dead-lettered. */
  maxAttempts: number;
  /** First retry delay; doubled each attempt, at most a minute. */
  backoffMs: number;
  /** The consent purpose an event's person must have given for it to be sent (default `marketing`). */
  purpose?: string;
}

const checkpointKey = (name: string) => `destination:${name}`;

/**
 * Forwards matching events from the log to one webhook, at least once: the position in the log
 * is saved only after the receiver answered 2xx (or the events were dead-lettered), so a crash
 * sends again what may have been sent (receivers dedupe on messageId). Retries back off
 * exponentially; after maxAttempts, or at once for an answer that retrying cannot change (4xx,
 * a refused address, a redirect), the events go to the dead-letter list with the reason.
 */
export class Deliverer {
  private positions: number[] = [];
  private running = false;
  /** Set by stop(): no more retries (the batch is sent again at the next start). */
  private stopping = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly log: EventLog,
    private readonly store: ProfileStore,
    readonly def: DestinationDef,
    private readonly opts: {
      metrics?: Metrics;
      logger?: Logger;
      /** Sends only the events whose person consented to the destination's purpose; absent: all. */
      consent?: ConsentGate;
      /**
       * Whether this process delivers now. With many processors only one does (the holder of
       * partition 0); one that takes over reads the position the previous one saved.
       */
      active?: () => boolean;
    } = {},
  ) {}

  /** A new destination starts at the log's end: it receives what happens from now on. */
  async init(): Promise<void> {
    const saved = await this.store.getMeta(checkpointKey(this.def.name));
    if (saved) this.positions = JSON.parse(saved) as number[];
    else {
      this.positions = await this.log.endOffsets();
      await this.save();
    }
  }

  private save(): Promise<void> {
    return this.store.setMeta(checkpointKey(this.def.name), JSON.stringify(this.positions));
  }

  /** Delivers (or dead-letters) the next batch; resolves with the number of log entries it moved past. */
  async deliverOnce(): Promise<number> {
    // With consent to check, only what the processor has applied: the profile must hold every consent given before.
    const ends = this.opts.consent ? await this.opts.consent.readable(await this.log.endOffsets()) : await this.log.endOffsets();
    const batch: Envelope[] = [];
    /** Everything read, and whether it is forwarded: the consent gate learns from all of it. */
    const read: Envelope[] = [];
    const forwarded: boolean[] = [];
    const next = [...this.positions];
    let examined = 0;
    for (let p = 0; p < ends.length && batch.length < this.def.batchSize; p++) {
      const from = next[p] ?? 1;
      if (from >= (ends[p] ?? 1)) continue;
      for (const entry of await this.log.read(p, from, 1000)) {
        examined++;
        next[p] = entry.offset + 1;
        const e = JSON.parse(entry.payload) as Envelope;
        const yes = forwards(this.def.forward, e);
        if (yes) batch.push(e);
        read.push(e);
        forwarded.push(yes);
        if (batch.length >= this.def.batchSize) break;
      }
    }
    if (examined === 0) return 0;
    const consented = await this.consented(batch, read, forwarded);
    // Stopped in the middle of retries: the batch is neither delivered nor dead-lettered; it is sent again at the next start.
    if (consented.length && !(await this.send(consented))) return 0;
    this.positions = next;
    await this.save();
    return examined;
  }

  /** The events whose person consented to the destination's purpose; the others are counted and passed over. */
  private async consented(batch: Envelope[], read: Envelope[], forwarded: boolean[]): Promise<Envelope[]> {
    if (!this.opts.consent) return batch;
    const purpose = this.def.purpose ?? 'marketing';
    const allowed = await this.opts.consent.allows(purpose, read, forwarded);
    const out = read.filter((_, i) => forwarded[i] && allowed[i]);
    if (out.length < batch.length) this.opts.metrics?.eventsWithoutConsent.inc({ purpose, action: 'dropped' }, batch.length - out.length);
    return out;
  }

  /** Delivers or dead-letters the batch (true), or gives up because Mosaic is stopping (false). */
  private async send(batch: Envelope[]): Promise<boolean> {
    const body = JSON.stringify({ batch, sentAt: new Date().toISOString() });
    const m = this.opts.metrics;
    let result: SendResult | undefined;
    let attempt = 0;
    while (attempt < this.def.maxAttempts) {
      attempt++;
      result = await postWebhook(this.def, body, { 'x-mosaic-destination': this.def.name, 'x-mosaic-attempt': String(attempt) });
      m?.destinationAttempts.inc({ destination: this.def.name, result: result.ok ? 'ok' : 'failed' });
      if (result.ok || !result.retry || attempt >= this.def.maxAttempts || this.stopping) break;
      this.opts.logger?.warn({ destination: this.def.name, attempt, reason: result.reason }, 'webhook delivery failed; retrying');
      await this.sleep(Math.min(60_000, this.def.backoffMs * 2 ** (attempt - 1)), false);
    }
    if (result?.ok) {
      m?.destinationEvents.inc({ destination: this.def.name, outcome: 'delivered' }, batch.length);
      return true;
    }
    if (this.stopping && result?.retry) return false;
    const reason = `${result?.reason ?? 'not sent'}${result && !result.retry ? ' (not retried)' : ` after ${attempt} attempt${attempt > 1 ? 's' : ''}`}`;
    this.opts.logger?.error({ destination: this.def.name, events: batch.length, reason }, 'webhook delivery failed; events dead-lettered');
    const at = Date.now();
    const deadLetters: DeadLetter[] = batch.map((e) => ({ at, kind: 'destination', name: this.def.name, reason, payload: JSON.stringify(e) }));
    await this.store.commit({ deadLetters });
    m?.destinationEvents.inc({ destination: this.def.name, outcome: 'dead_lettered' }, batch.length);
    m?.deadLetters.inc({ kind: 'destination', name: this.def.name }, batch.length);
    return true;
  }

  /** Events not yet forwarded or passed over (an estimate on a log with offset gaps). */
  async lag(): Promise<number> {
    const ends = await this.log.endOffsets();
    const stride = this.log.capabilities.offsetStride;
    return ends.reduce((a, end, p) => a + Math.ceil(Math.max(0, end - (this.positions[p] ?? 1)) / stride), 0);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribe = this.log.onAppend(() => this.wakeUp?.());
    const active = this.opts.active ?? (() => true);
    let delivering = active();
    this.loop = (async () => {
      while (this.running) {
        try {
          if (!active()) {
            delivering = false;
            await this.sleep(1000);
            continue;
          }
          if (!delivering) {
            delivering = true;
            await this.init(); // where the previous holder stopped
          }
          if ((await this.deliverOnce()) === 0) await this.sleep(1000);
        } catch (err) {
          this.opts.logger?.error({ err, destination: this.def.name }, 'destination failed; retrying');
          await this.sleep(1000);
        }
      }
    })();
  }

  /** Sleeps; `onAppend`: new events in the log end it early (idle waits, not retry back-off). Stop always ends it. */
  private sleep(ms: number, onAppend = true): Promise<void> {
    return new Promise((resolve) => {
      let t: NodeJS.Timeout | undefined = undefined;
      const done = () => {
        clearTimeout(t);
        this.wakeUp = undefined;
        this.abort = undefined;
        resolve();
      };
      t = setTimeout(done, ms);
      if (onAppend) this.wakeUp = done;
      this.abort = done;
    });
  }

  private abort: (() => void) | undefined;

  async stop(): Promise<void> {
    this.running = false;
    this.stopping = true;
    this.unsubscribe?.();
    this.abort?.();
    await this.loop;
  }
}
